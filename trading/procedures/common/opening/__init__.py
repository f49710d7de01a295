"""The opening key ceremony (k-of-n custodians), share submission, opening every envelope, the
opening record (开标记录) with confirm/dispute, 流标, and the remote opening hall (不见面开标大厅)."""
