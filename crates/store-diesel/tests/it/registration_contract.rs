//! The `RegistrationStore` contract on both backends: initial access tokens are usable
//! while unexpired, unrevoked and not spent; a registration takes one use and stores the
//! client in the same transaction (all or nothing; of concurrent registrations with the
//! last use, through two pools, exactly one wins); an update is conditional on the
//! client's own registration access token; a registration goes with its client.

use std::sync::Barrier;

use grantd_ports::{
    Client, ClientId, ClientRegistration, ClientStore, InitialAccessToken, RegistrationStore,
    SecretHash, StoreError, TokenEndpointAuthMethod, TokenHash,
};
use grantd_store_diesel::Database;
use grantd_testkit::fixtures::minimal_client;
use grantd_testkit::{contract, TestDb};

contract!(
    an_initial_token_is_usable_until_expired_spent_or_revoked,
    initial_tokens_list_in_id_order_and_taken_hashes_conflict,
    a_registration_takes_one_use_and_stores_client_and_registration,
    a_spent_token_registers_nothing,
    a_registration_with_a_taken_client_id_takes_no_use,
    concurrent_registrations_with_the_last_use_let_exactly_one_win,
    an_update_needs_the_clients_own_token_and_replaces_every_field,
    a_registration_goes_with_its_client,
);

const T0: i64 = 1_700_000_000;

fn hash(n: u8) -> TokenHash {
    TokenHash::from_bytes([n; 32])
}

fn initial(id: &str, n: u8, uses: i64) -> InitialAccessToken {
    InitialAccessToken {
        id: id.into(),
        token_hash: hash(n),
        created_at: T0,
        expires_at: T0 + 600,
        uses_left: uses,
        revoked_at: None,
    }
}

fn registration(client: &str, n: u8) -> ClientRegistration {
    ClientRegistration {
        client_id: ClientId::parse(client).unwrap(),
        access_token_hash: hash(n),
        auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        initial_token_id: "it_a".into(),
    }
}

fn an_initial_token_is_usable_until_expired_spent_or_revoked(db: &Database) {
    db.insert_initial_token(&initial("it_a", 1, 1)).unwrap();
    let found = db.find_usable_initial_token(&hash(1), T0).unwrap().unwrap();
    assert_eq!(found, initial("it_a", 1, 1));
    assert_eq!(db.find_usable_initial_token(&hash(2), T0).unwrap(), None);
    assert_eq!(
        db.find_usable_initial_token(&hash(1), T0 + 600).unwrap(),
        None,
        "refused at expires_at"
    );
    db.insert_initial_token(&initial("it_b", 3, 0)).unwrap();
    assert_eq!(
        db.find_usable_initial_token(&hash(3), T0).unwrap(),
        None,
        "spent"
    );
    assert!(db.revoke_initial_token("it_a", T0 + 1).unwrap());
    assert!(!db.revoke_initial_token("it_a", T0 + 2).unwrap(), "once");
    assert!(!db.revoke_initial_token("it_none", T0 + 2).unwrap());
    assert_eq!(
        db.find_usable_initial_token(&hash(1), T0 + 2).unwrap(),
        None
    );
    let listed = db.list_initial_tokens().unwrap();
    assert_eq!(
        listed[0].revoked_at,
        Some(T0 + 1),
        "the first revocation's time stays"
    );
}

fn initial_tokens_list_in_id_order_and_taken_hashes_conflict(db: &Database) {
    db.insert_initial_token(&initial("it_b", 2, 1)).unwrap();
    db.insert_initial_token(&initial("it_a", 1, 1)).unwrap();
    assert!(matches!(
        db.insert_initial_token(&initial("it_c", 1, 1)),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        db.insert_initial_token(&initial("it_a", 3, 1)),
        Err(StoreError::Conflict(_))
    ));
    let ids: Vec<String> = db
        .list_initial_tokens()
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["it_a", "it_b"]);
}

fn a_registration_takes_one_use_and_stores_client_and_registration(db: &Database) {
    db.insert_initial_token(&initial("it_a", 1, 2)).unwrap();
    let client = minimal_client("cl_1");
    assert!(db
        .register_client(&hash(1), T0, &client, &registration("cl_1", 9))
        .unwrap());
    assert_eq!(db.find_client(&client.id).unwrap(), Some(client));
    assert_eq!(
        db.find_registration(&hash(9)).unwrap(),
        Some(registration("cl_1", 9))
    );
    assert_eq!(db.find_registration(&hash(8)).unwrap(), None);
    let left = db.find_usable_initial_token(&hash(1), T0).unwrap().unwrap();
    assert_eq!(left.uses_left, 1);
}

fn a_spent_token_registers_nothing(db: &Database) {
    db.insert_initial_token(&initial("it_a", 1, 1)).unwrap();
    assert!(db
        .register_client(
            &hash(1),
            T0,
            &minimal_client("cl_1"),
            &registration("cl_1", 9)
        )
        .unwrap());
    for (token, at) in [(1, T0), (2, T0), (1, T0 + 600)] {
        assert!(!db
            .register_client(
                &hash(token),
                at,
                &minimal_client("cl_2"),
                &registration("cl_2", 8)
            )
            .unwrap());
    }
    assert_eq!(
        db.find_client(&ClientId::parse("cl_2").unwrap()).unwrap(),
        None
    );
    assert_eq!(db.find_registration(&hash(8)).unwrap(), None);
}

fn a_registration_with_a_taken_client_id_takes_no_use(db: &Database) {
    db.insert_initial_token(&initial("it_a", 1, 1)).unwrap();
    db.insert_client(&minimal_client("cl_1")).unwrap();
    assert!(matches!(
        db.register_client(
            &hash(1),
            T0,
            &minimal_client("cl_1"),
            &registration("cl_1", 9)
        ),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.find_registration(&hash(9)).unwrap(), None);
    assert_eq!(
        db.find_usable_initial_token(&hash(1), T0)
            .unwrap()
            .map(|t| t.uses_left),
        Some(1),
        "rolled back"
    );
}

fn concurrent_registrations_with_the_last_use_let_exactly_one_win(db: &TestDb) {
    db.database()
        .insert_initial_token(&initial("it_a", 1, 1))
        .unwrap();
    let other = Database::connect(db.url(), &grantd_testkit::database::options()).unwrap();
    let pools = [db.database(), &other];
    let threads = 6;
    let barrier = Barrier::new(threads);
    let won: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, pool) = (&barrier, pools[t % 2]);
                s.spawn(move || {
                    let id = format!("cl_{t}");
                    barrier.wait();
                    usize::from(
                        pool.register_client(
                            &hash(1),
                            T0,
                            &minimal_client(&id),
                            &registration(&id, 10 + t as u8),
                        )
                        .unwrap(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(won, 1);
    assert_eq!(db.database().list_clients().unwrap().len(), 1);
}

fn an_update_needs_the_clients_own_token_and_replaces_every_field(db: &Database) {
    db.insert_initial_token(&initial("it_a", 1, 2)).unwrap();
    let mut first = minimal_client("cl_1");
    first.secret = Some(SecretHash::from_stored("hash1".into()));
    first.default_scopes = Some(grantd_ports::ScopeSet::parse("read").unwrap());
    first.scopes = grantd_ports::ScopeSet::parse("read").unwrap();
    db.register_client(&hash(1), T0, &first, &registration("cl_1", 9))
        .unwrap();
    db.register_client(
        &hash(1),
        T0,
        &minimal_client("cl_2"),
        &registration("cl_2", 8),
    )
    .unwrap();
    let changed = Client {
        name: "Renamed".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        default_scopes: None,
        require_dpop: true,
        ..first.clone()
    };
    let post = TokenEndpointAuthMethod::ClientSecretPost;
    assert!(
        !db.update_registered_client(&hash(8), &changed, post)
            .unwrap(),
        "cl_2's token"
    );
    assert_eq!(db.find_client(&first.id).unwrap(), Some(first.clone()));
    assert!(db
        .update_registered_client(&hash(9), &changed, post)
        .unwrap());
    assert_eq!(
        db.find_client(&first.id).unwrap(),
        Some(Client {
            // Every update bumps the row's version (migration 000014).
            secret_version: first.secret_version + 1,
            ..changed
        }),
        "None cleared the defaults"
    );
    assert_eq!(
        db.find_registration(&hash(9)).unwrap().unwrap().auth_method,
        post
    );
}

fn a_registration_goes_with_its_client(db: &Database) {
    db.insert_initial_token(&initial("it_a", 1, 1)).unwrap();
    db.register_client(
        &hash(1),
        T0,
        &minimal_client("cl_1"),
        &registration("cl_1", 9),
    )
    .unwrap();
    assert!(db.delete_client(&ClientId::parse("cl_1").unwrap()).unwrap());
    assert_eq!(db.find_registration(&hash(9)).unwrap(), None);
    assert!(!db
        .update_registered_client(
            &hash(9),
            &minimal_client("cl_1"),
            TokenEndpointAuthMethod::None
        )
        .unwrap());
    assert_eq!(
        db.list_initial_tokens().unwrap()[0].uses_left,
        0,
        "the token stays"
    );
}
