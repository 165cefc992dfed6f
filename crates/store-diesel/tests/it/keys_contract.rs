//! The `KeyStore` contract, run against both backends (`postgres::*`, `sqlite::*`): keys
//! round-trip in creation order, a taken kid conflicts, retiring happens once, and the
//! stored row holds the private key only sealed.

use grantd_testkit::contract;

use grantd_ports::{KeyStore, StoreError};
use grantd_store_diesel::Database;
use grantd_testkit::keys::{jose, sealed_key};

contract!(
    keys_round_trip_in_creation_order,
    inserting_a_taken_kid_conflicts,
    a_key_is_retired_once,
    the_stored_row_holds_no_private_key_bytes_in_the_clear,
);

const T0: i64 = 1_700_000_000;

fn keys_round_trip_in_creation_order(db: &Database) {
    assert!(db.list_signing_keys().unwrap().is_empty());
    let b = sealed_key("b", T0, b"clear-b");
    let a = sealed_key("a", T0 + 1, b"clear-a");
    let mut c = sealed_key("c", T0, b"clear-c");
    c.activates_at = T0 + 600;
    for key in [&a, &b, &c] {
        db.insert_signing_key(key).unwrap();
    }
    assert_eq!(db.list_signing_keys().unwrap(), vec![b, c, a]);
}

fn inserting_a_taken_kid_conflicts(db: &Database) {
    db.insert_signing_key(&sealed_key("k", T0, b"one")).unwrap();
    assert!(matches!(
        db.insert_signing_key(&sealed_key("k", T0 + 1, b"two")),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.list_signing_keys().unwrap().len(), 1);
}

fn a_key_is_retired_once(db: &Database) {
    db.insert_signing_key(&sealed_key("k", T0, b"one")).unwrap();
    assert!(!db.retire_signing_key("unknown", T0, T0 + 60).unwrap());
    assert!(db.retire_signing_key("k", T0 + 5, T0 + 3605).unwrap());
    // A second retirement must not move published_until.
    assert!(!db.retire_signing_key("k", T0 + 9, T0 + 9999).unwrap());
    let key = &db.list_signing_keys().unwrap()[0];
    assert_eq!(
        (key.retired_at, key.published_until),
        (Some(T0 + 5), Some(T0 + 3605))
    );
}

fn the_stored_row_holds_no_private_key_bytes_in_the_clear(db: &Database) {
    use grantd_ports::TokenSigner;
    let clear: Vec<u8> = (0..1200u32).map(|i| (i * 7 % 251) as u8).collect();
    db.insert_signing_key(&sealed_key("k", T0, &clear)).unwrap();
    let stored = db.list_signing_keys().unwrap().remove(0);
    let bytes = stored.private_key.as_bytes();
    assert!(bytes.len() > clear.len(), "an AEAD nonce and tag are added");
    assert!(
        !bytes.windows(16).any(|w| clear.windows(16).any(|c| c == w)),
        "no 16-byte run of the private key is stored as is"
    );
    // What was read back still opens under the key that sealed it.
    assert!(jose().can_open(&stored));
}
