//! Identifiers: UUIDv7 made in the application (time-ordered, so B-tree inserts stay local and
//! keyset pagination by id follows creation order), never database sequences.

use uuid::Uuid;

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
