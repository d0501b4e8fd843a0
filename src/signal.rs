//! Graceful stop on Ctrl-C or SIGTERM, shared by `backfill`/`work` and `serve`.

use tokio_util::sync::CancellationToken;

/// Cancels `cancel` when the process gets Ctrl-C or SIGTERM (printing `message`), or
/// returns quietly when `cancel` is cancelled first.
pub async fn cancel_on_signal(cancel: CancellationToken, message: &'static str) {
    let interrupted = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    tokio::select! {
        _ = interrupted => {
            eprintln!("{message}");
            cancel.cancel();
        }
        _ = cancel.cancelled() => {}
    }
}
