//! The account page's read: a user's live grants with their clients' names and when they
//! were last refreshed, derived from the newest token each grant holds (every refresh
//! writes an access token, every rotation a refresh token), so the refresh path writes
//! nothing extra for it. A macro, so that one text of the queries serves both backends'
//! connections.

/// `live_grants!(conn, grants::user_id, id: &str, now: i64)` →
/// `Result<Vec<GrantOverview>, Failure>`: the live grants whose `column` (`user_id` or
/// `client_id`) is `id`.
macro_rules! live_grants {
    ($conn:expr, $column:ident, $user:expr, $now:expr) => {{
        use ::diesel::dsl::{exists, max};
        use ::diesel::prelude::*;
        use $crate::schema::{access_tokens, clients, grants, refresh_tokens};
        let (conn, user, now): (_, &str, i64) = ($conn, $user, $now);
        let live_refresh = refresh_tokens::table
            .filter(refresh_tokens::grant_id.eq(grants::id))
            .filter(refresh_tokens::consumed_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now));
        let live_access = access_tokens::table
            .filter(access_tokens::grant_id.eq(grants::id))
            .filter(access_tokens::revoked_at.is_null())
            .filter(access_tokens::expires_at.gt(now));
        let rows: Vec<($crate::rows::GrantRow, String)> = grants::table
            .inner_join(clients::table)
            .filter(grants::$column.eq(user))
            .filter(grants::revoked_at.is_null())
            .filter(grants::expires_at.is_null().or(grants::expires_at.gt(now)))
            .filter(exists(live_refresh).or(exists(live_access)))
            .order((grants::created_at.desc(), grants::id))
            .select(($crate::rows::GrantRow::as_select(), clients::name))
            .load(conn)?;
        let ids: Vec<String> = rows.iter().map(|(g, _)| g.id().to_owned()).collect();
        let newest_access: Vec<(String, Option<i64>)> = access_tokens::table
            .filter(access_tokens::grant_id.eq_any(&ids))
            .group_by(access_tokens::grant_id)
            .select((access_tokens::grant_id, max(access_tokens::issued_at)))
            .load(conn)?;
        let newest_refresh: Vec<(String, Option<i64>)> = refresh_tokens::table
            .filter(refresh_tokens::grant_id.eq_any(&ids))
            .group_by(refresh_tokens::grant_id)
            .select((refresh_tokens::grant_id, max(refresh_tokens::issued_at)))
            .load(conn)?;
        let mut newest = ::std::collections::HashMap::<String, i64>::new();
        for (id, at) in newest_access.into_iter().chain(newest_refresh) {
            if let Some(at) = at {
                let entry = newest.entry(id).or_insert(at);
                *entry = (*entry).max(at);
            }
        }
        rows.into_iter()
            .map(|(grant, client_name)| {
                let newest = newest.get(grant.id()).copied();
                let grant = grant.into_record()?;
                let last_refreshed_at = newest.filter(|at| *at > grant.created_at);
                Ok(::grantd_ports::GrantOverview {
                    grant,
                    client_name,
                    last_refreshed_at,
                })
            })
            .collect::<Result<Vec<_>, $crate::errors::Failure>>()
    }};
}
pub(crate) use live_grants;
