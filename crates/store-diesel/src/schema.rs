//! The diesel table definitions, one set for both backends: only types both understand
//! (Text, BigInt, Bool, Binary, Nullable). Must match `migrations/{postgres,sqlite}`.

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        secret_version -> BigInt,
        grant_types -> Text,
        scopes -> Text,
        redirect_uris -> Text,
        can_introspect -> Bool,
        access_token_lifetime -> Nullable<BigInt>,
        refresh_token_lifetime -> Nullable<BigInt>,
        refresh_token_max_lifetime -> Nullable<BigInt>,
        created_at -> BigInt,
        default_scopes -> Nullable<Text>,
        access_token_format -> Nullable<Text>,
        post_logout_redirect_uris -> Text,
        require_dpop -> Bool,
        admin -> Bool,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> BigInt,
        session_stamp -> Text,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        email_verified -> Bool,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        client_id -> Text,
        user_id -> Nullable<Text>,
        username -> Nullable<Text>,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        auth_time -> Nullable<BigInt>,
        resources -> Text,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Binary,
        grant_id -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
        sealed_response -> Nullable<Binary>,
        consumed_at_ms -> Nullable<BigInt>,
        successor_hash -> Nullable<Binary>,
    }
}

diesel::table! {
    access_tokens (token_hash) {
        token_hash -> Binary,
        grant_id -> Text,
        scope -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        audience -> Text,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Binary,
        client_id -> Text,
        user_id -> Text,
        username -> Text,
        redirect_uri -> Nullable<Text>,
        scope -> Text,
        code_challenge -> Nullable<Text>,
        code_challenge_method -> Nullable<Text>,
        issued_at -> BigInt,
        expires_at -> BigInt,
        redeemed_at -> Nullable<BigInt>,
        grant_id -> Nullable<Text>,
        nonce -> Nullable<Text>,
        auth_time -> Nullable<BigInt>,
        resources -> Text,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    auth_failures (key_hash) {
        key_hash -> Binary,
        window_start -> BigInt,
        expires_at -> BigInt,
        failures -> BigInt,
    }
}

diesel::table! {
    dpop_jtis (jti_hash) {
        jti_hash -> Binary,
        expires_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        public_jwk -> Text,
        private_key -> Binary,
        created_at -> BigInt,
        activates_at -> BigInt,
        retired_at -> Nullable<BigInt>,
        published_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    initial_access_tokens (id) {
        id -> Text,
        token_hash -> Binary,
        created_at -> BigInt,
        expires_at -> BigInt,
        uses_left -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    client_registrations (client_id) {
        client_id -> Text,
        access_token_hash -> Binary,
        auth_method -> Text,
        initial_token_id -> Text,
    }
}

diesel::joinable!(grants -> clients (client_id));
diesel::joinable!(client_registrations -> clients (client_id));
diesel::joinable!(refresh_tokens -> grants (grant_id));
diesel::joinable!(access_tokens -> grants (grant_id));

diesel::allow_tables_to_appear_in_same_query!(
    clients,
    users,
    grants,
    refresh_tokens,
    access_tokens,
    authorization_codes,
    consents,
    signing_keys,
    initial_access_tokens,
    client_registrations,
    auth_failures
);
