//! The audit trail of the admin API: one line per write, on the `grantd::audit` target,
//! with the acting admin client, the action, the target's id and the outcome. Never a
//! secret: the values logged are ids and fixed names only (a password or a client secret
//! never reaches this module).

use grantd_ports::ClientId;

/// Logs one administrative write.
pub(crate) fn record(actor: &ClientId, action: &'static str, target: &str, outcome: &str) {
    tracing::info!(
        target: "grantd::audit",
        actor = %actor,
        action,
        target_id = target,
        outcome,
        "admin action"
    );
}
