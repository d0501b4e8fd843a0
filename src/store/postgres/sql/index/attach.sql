-- Attaches a partition's index to its parent's index: the parent's becomes valid once
-- every partition has one attached.
-- {parent_index}, {index}: the indexes as regclass text (quoted, qualified as needed)
ALTER INDEX {parent_index} ATTACH PARTITION {index}
