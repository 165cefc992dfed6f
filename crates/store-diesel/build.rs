//! `embed_migrations!` reads the SQL files at compile time but does not tell cargo about
//! them, so without this an edited migration would not be re-embedded.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/postgres");
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
}
