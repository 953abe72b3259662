//! Enriches what Sentry records for the current request (or, outside one, the current
//! thread): tags, extra data and the user, on the events and transactions that follow.
//! Nothing happens when Sentry is off.
//!
//! ```
//! vk_monitor::context::set_tag("tenant", "acme");
//! vk_monitor::context::set_extra("queue_depth", 12);
//! vk_monitor::context::set_user("user-42");
//! ```

use sentry::protocol::User;

use super::state;

/// Tags the events that follow.
pub fn set_tag(key: &str, value: impl ToString) {
    if state::active() {
        sentry::configure_scope(|scope| scope.set_tag(key, value));
    }
}

/// Attaches extra data to the events that follow.
pub fn set_extra(key: &str, value: impl Into<serde_json::Value>) {
    if state::active() {
        let value = value.into();
        sentry::configure_scope(|scope| scope.set_extra(key, value));
    }
}

/// Names the user of the events that follow, by id only.
pub fn set_user(id: impl Into<String>) {
    set_user_details(id, None, None);
}

/// Names the user with an email and a username, which are kept only when personal data may
/// be sent (`SENTRY_SEND_DEFAULT_PII`); otherwise only the id is.
pub fn set_user_details(id: impl Into<String>, email: Option<String>, username: Option<String>) {
    if !state::active() {
        return;
    }
    let pii = state::send_pii();
    let user = User {
        id: Some(id.into()),
        email: email.filter(|_| pii),
        username: username.filter(|_| pii),
        ..User::default()
    };
    sentry::configure_scope(|scope| scope.set_user(Some(user)));
}
