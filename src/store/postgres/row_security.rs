//! Row-level security: when RLS hides rows of the source table from vecsync's role, every
//! count is a count of what the role sees. `status` would print a coverage the database hid
//! from it (500 rows without vectors reported as `"total": 0, "coverage": 1.0`), and a
//! claim would drop hidden rows from the queue as if they were deleted. So commands refuse
//! to run (a setup error naming the table, the role and the two ways out) rather than
//! report or act on a partial view; `doctor` says the same as a finding.

use anyhow::Result;

use super::pool::Conn;
use super::privileges::{ident, Who};
use super::PostgresStore;
use crate::config_error;

/// What RLS does to the role on the source table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RowSecurity {
    /// RLS applies to the role (enabled, and the role neither owns the table without FORCE
    /// nor is superuser nor has BYPASSRLS).
    pub(super) active: bool,
    /// ... and no policy lets it see (and, for writers, update) every row.
    pub(super) hides: bool,
    /// Policies that apply to the role.
    pub(super) policies: i64,
}

impl PostgresStore {
    /// RLS on the table for the connecting role; `writes`: it also needs to UPDATE rows.
    pub(super) async fn row_security(
        &self,
        c: &mut Conn,
        oid: u32,
        writes: bool,
    ) -> Result<RowSecurity> {
        let row = c
            .query_one(
                include_str!("sql/privileges/row_security.sql"),
                &[&oid, &writes],
            )
            .await?;
        Ok(RowSecurity {
            active: row.get(0),
            hides: row.get(1),
            policies: row.get(2),
        })
    }

    /// A setup error when RLS hides rows from the role.
    pub(super) async fn refuse_hidden_rows(
        &self,
        c: &mut Conn,
        oid: u32,
        writes: bool,
    ) -> Result<()> {
        if !self.row_security(c, oid, writes).await?.hides {
            return Ok(());
        }
        let who = Who::read(c, oid).await?;
        let (message, fix) = hidden_rows(&who, writes);
        Err(config_error!(setting = "source.table", "{message}: {fix}"))
    }
}

/// The message and the fix for rows hidden by RLS.
pub(super) fn hidden_rows(who: &Who, writes: bool) -> (String, String) {
    let table = who.table();
    let role = ident(&who.role);
    let message = format!(
        "row-level security on {table} hides rows from role {:?} (no policy lets it {} every row), so vecsync would count{} only the rows it sees",
        who.role,
        if writes { "see and update" } else { "see" },
        if writes { " and embed" } else { "" },
    );
    let policy = if writes {
        format!(
            "CREATE POLICY vecsync_all ON {table} FOR ALL TO {role} USING (true) WITH CHECK (true)"
        )
    } else {
        format!("CREATE POLICY vecsync_read ON {table} FOR SELECT TO {role} USING (true)")
    };
    (
        message,
        format!("connect as a role with BYPASSRLS (ALTER ROLE {role} BYPASSRLS), or {policy}"),
    )
}
