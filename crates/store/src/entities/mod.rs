//! SeaORM entities, one module per table.

pub mod conversations;
pub mod messages;
pub mod personas;
pub mod runtime;
pub mod users;
