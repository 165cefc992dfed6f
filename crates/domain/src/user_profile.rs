//! A user's profile claims (OpenID Connect Core §5.1 `name`, `email`, `email_verified`):
//! which values may be stored, and how an update changes them. Pure rules plus one port
//! call; the CLI (and a later admin API) set profiles through here only. Changing a
//! profile ends no session and revokes nothing: what a user is called grants no access.

use grantd_ports::{StoreError, User, UserProfile};

use crate::PortSet;

/// The longest `name`, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest `email`, in bytes: RFC 5321 §4.5.3.1.3's path limit of 256 octets less the
/// angle brackets.
pub const MAX_EMAIL_BYTES: usize = 254;
/// RFC 5321 §4.5.3.1.1: the longest local part, in octets.
const MAX_LOCAL_PART_BYTES: usize = 64;
/// RFC 1035 §2.3.4: the longest label of a domain name.
const MAX_LABEL_BYTES: usize = 63;

/// Why a profile value cannot be stored. Each message names the value and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("the name is empty (to remove a name, clear it instead)")]
    EmptyName,
    #[error("the name is {0} characters long; at most {MAX_NAME_CHARS} are allowed")]
    NameTooLong(usize),
    #[error("the name contains a control character (a line break, a tab, ...)")]
    NameControl,
    #[error("the email address is {0} bytes long; at most {MAX_EMAIL_BYTES} are allowed")]
    EmailTooLong(usize),
    #[error("{0:?} is not an email address: {1}")]
    EmailInvalid(String, &'static str),
    #[error("email_verified needs an email address to vouch for")]
    VerifiedWithoutEmail,
}

/// A display name as stored: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control
/// characters (they would break a page, a log line or a JSON consumer's display).
pub fn check_name(name: &str) -> Result<String, ProfileError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ProfileError::EmptyName);
    }
    if name.chars().any(char::is_control) {
        return Err(ProfileError::NameControl);
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(ProfileError::NameTooLong(chars));
    }
    Ok(name.to_owned())
}

/// RFC 5322 §3.2.3 `atext`, plus any non-ASCII character (RFC 6531's internationalised
/// addresses) that is neither whitespace nor a control character.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
}

/// A domain label: letters, digits and hyphens (or non-ASCII, for an internationalised
/// name), not starting or ending with a hyphen, 1 to 63 bytes.
fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_BYTES
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
        })
}

/// An email address as stored: trimmed, a plausible RFC 5322 §3.4.1 `addr-spec` in its
/// common form (`dot-atom@domain`; quoted local parts and address literals are refused,
/// since no mail system a relying party talks to expects them), at most
/// [`MAX_EMAIL_BYTES`]. The case is kept: the local part is case-sensitive (RFC 5321
/// §2.4), and nothing requires a lowercase domain.
pub fn check_email(email: &str) -> Result<String, ProfileError> {
    let email = email.trim();
    let invalid = |why| Err(ProfileError::EmailInvalid(email.to_owned(), why));
    if email.len() > MAX_EMAIL_BYTES {
        return Err(ProfileError::EmailTooLong(email.len()));
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return invalid("it has no @");
    };
    if local.is_empty() {
        return invalid("nothing before the @");
    }
    if local.len() > MAX_LOCAL_PART_BYTES {
        return invalid("the part before the @ is longer than 64 bytes");
    }
    // dot-atom (RFC 5322 §3.2.3): atoms of atext joined by single dots.
    if !local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
    {
        return invalid("the part before the @ may hold letters, digits and !#$%&'*+-/=?^_`{|}~, with single dots between them");
    }
    if domain.is_empty() {
        return invalid("nothing after the @");
    }
    if !domain.split('.').all(is_label) {
        return invalid("the part after the @ is not a domain name");
    }
    Ok(email.to_owned())
}

/// What an update does to one optional field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Set(T),
    Clear,
}

/// An update of a profile, as `user update` asks for it. Values are checked by
/// [`apply`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileUpdate {
    pub name: Change<String>,
    pub email: Change<String>,
    /// `None` = keep (but see [`apply`]: a new or removed address is unverified).
    pub email_verified: Option<bool>,
}

impl ProfileUpdate {
    /// Whether the update asks for anything at all.
    pub fn is_empty(&self) -> bool {
        self.name == Change::Keep && self.email == Change::Keep && self.email_verified.is_none()
    }
}

/// A new user's profile from `user create`'s values, checked.
pub fn new_profile(
    name: Option<&str>,
    email: Option<&str>,
    email_verified: bool,
) -> Result<UserProfile, ProfileError> {
    let update = ProfileUpdate {
        name: name.map_or(Change::Keep, |n| Change::Set(n.to_owned())),
        email: email.map_or(Change::Keep, |e| Change::Set(e.to_owned())),
        email_verified: email_verified.then_some(true),
    };
    apply(&UserProfile::default(), &update)
}

/// The profile after `update`, every new value checked. A verification vouches for one
/// address: changing or removing the address makes it unverified unless the same update
/// says otherwise, and verifying needs an address.
pub fn apply(current: &UserProfile, update: &ProfileUpdate) -> Result<UserProfile, ProfileError> {
    let name = match &update.name {
        Change::Keep => current.name.clone(),
        Change::Set(name) => Some(check_name(name)?),
        Change::Clear => None,
    };
    let email = match &update.email {
        Change::Keep => current.email.clone(),
        Change::Set(email) => Some(check_email(email)?),
        Change::Clear => None,
    };
    let same_address = email == current.email;
    let email_verified = match update.email_verified {
        Some(verified) => verified,
        None => same_address && current.email_verified,
    };
    if email_verified && email.is_none() {
        return Err(ProfileError::VerifiedWithoutEmail);
    }
    Ok(UserProfile {
        name,
        email,
        email_verified,
    })
}

/// Why a profile update did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpdateProfileError {
    #[error(transparent)]
    Invalid(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `update` to `user`'s profile and stores it: `Ok(None)` if the user vanished
/// meanwhile, else the profile now stored. Sessions, grants and codes are untouched.
pub fn update_profile(
    ports: &PortSet,
    user: &User,
    update: &ProfileUpdate,
) -> Result<Option<UserProfile>, UpdateProfileError> {
    let profile = apply(&user.profile, update)?;
    let found = ports.users.set_user_profile(&user.id, &profile)?;
    Ok(found.then_some(profile))
}

#[cfg(test)]
mod tests {
    use grantd_ports::{SecretHash, SessionStamp, UserId, Username};

    use super::*;
    use crate::test_support::Doubles;

    fn verified(email: &str) -> UserProfile {
        UserProfile {
            name: Some("Alice".into()),
            email: Some(email.into()),
            email_verified: true,
        }
    }

    #[test]
    fn names_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(check_name("  Alice Liddell "), Ok("Alice Liddell".into()));
        assert_eq!(check_name("Ælfrēd 李"), Ok("Ælfrēd 李".into()));
        assert_eq!(check_name(" "), Err(ProfileError::EmptyName));
        assert_eq!(check_name("a\nb"), Err(ProfileError::NameControl));
        assert_eq!(check_name("a\u{7f}b"), Err(ProfileError::NameControl));
        // Counted in characters: 200 two-byte characters are fine, 201 are not.
        assert!(check_name(&"é".repeat(200)).is_ok());
        assert_eq!(
            check_name(&"é".repeat(201)),
            Err(ProfileError::NameTooLong(201))
        );
    }

    #[test]
    fn plausible_addresses_pass_and_keep_their_case() {
        for good in [
            "alice@example.com",
            "Alice.Liddell+tag@Example.COM",
            "o'brien@mail.example.co.uk",
            "x@localhost",
            "用户@例子.广告",
            "a!#$%&'*+-/=?^_`{|}~@example.com",
        ] {
            assert_eq!(check_email(good).as_deref(), Ok(good), "{good}");
        }
        assert_eq!(check_email(" a@b.c ").as_deref(), Ok("a@b.c"));
    }

    #[test]
    fn implausible_addresses_are_refused_with_a_reason() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "al ice@example.com",
            "alice@exa mple.com",
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "\"quoted\"@example.com",
            "alice@-example.com",
            "alice@example-.com",
            "alice@example..com",
            "alice@[192.0.2.1]",
            "alice@example.com\r\nBcc: x@y.z",
            "a@b@c",
        ] {
            assert!(
                matches!(check_email(bad), Err(ProfileError::EmailInvalid(..))),
                "{bad:?}"
            );
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(check_email(&long_local).is_err());
        let long_label = format!("a@{}.com", "b".repeat(64));
        assert!(check_email(&long_label).is_err());
        let longest = format!(
            "{}@{}.com",
            "a".repeat(64),
            vec!["b".repeat(61); 3].join(".")
        );
        assert_eq!(longest.len(), 254);
        assert!(check_email(&longest).is_ok());
        let over = format!(
            "{}@{}.com",
            "a".repeat(64),
            vec!["b".repeat(62); 3].join(".")
        );
        assert_eq!(check_email(&over), Err(ProfileError::EmailTooLong(257)));
        let message = check_email("alice").unwrap_err().to_string();
        assert_eq!(message, "\"alice\" is not an email address: it has no @");
    }

    #[test]
    fn updates_keep_set_or_clear_each_field() {
        let current = verified("alice@example.com");
        let keep = apply(&current, &ProfileUpdate::default()).unwrap();
        assert_eq!(keep, current);
        let renamed = apply(
            &current,
            &ProfileUpdate {
                name: Change::Set(" Alice L. ".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(renamed.name.as_deref(), Some("Alice L."));
        assert!(renamed.email_verified, "the address did not change");
        let cleared = apply(
            &current,
            &ProfileUpdate {
                name: Change::Clear,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(cleared.name, None);
    }

    #[test]
    fn a_new_or_removed_address_is_unverified_unless_the_update_says_so() {
        let current = verified("alice@example.com");
        let moved = ProfileUpdate {
            email: Change::Set("alice@new.example".into()),
            ..Default::default()
        };
        assert!(!apply(&current, &moved).unwrap().email_verified);
        let moved_and_verified = ProfileUpdate {
            email_verified: Some(true),
            ..moved.clone()
        };
        assert!(apply(&current, &moved_and_verified).unwrap().email_verified);
        // The same address set again keeps its verification.
        let same = ProfileUpdate {
            email: Change::Set("alice@example.com".into()),
            ..Default::default()
        };
        assert!(apply(&current, &same).unwrap().email_verified);
        let removed = ProfileUpdate {
            email: Change::Clear,
            ..Default::default()
        };
        let after = apply(&current, &removed).unwrap();
        assert_eq!((after.email, after.email_verified), (None, false));
        let unverify = ProfileUpdate {
            email_verified: Some(false),
            ..Default::default()
        };
        assert!(!apply(&current, &unverify).unwrap().email_verified);
    }

    #[test]
    fn verifying_needs_an_address_and_bad_values_change_nothing() {
        let none = UserProfile::default();
        let verify = ProfileUpdate {
            email_verified: Some(true),
            ..Default::default()
        };
        assert_eq!(
            apply(&none, &verify),
            Err(ProfileError::VerifiedWithoutEmail)
        );
        let clear_but_verify = ProfileUpdate {
            email: Change::Clear,
            email_verified: Some(true),
            ..Default::default()
        };
        assert_eq!(
            apply(&verified("a@b.c"), &clear_but_verify),
            Err(ProfileError::VerifiedWithoutEmail)
        );
        assert_eq!(
            new_profile(None, None, true),
            Err(ProfileError::VerifiedWithoutEmail)
        );
        assert_eq!(
            new_profile(Some("Bob"), Some("bob@example.com"), true).unwrap(),
            UserProfile {
                name: Some("Bob".into()),
                email: Some("bob@example.com".into()),
                email_verified: true
            }
        );
        assert!(ProfileUpdate::default().is_empty());
        assert!(!verify.is_empty());
    }

    fn alice() -> User {
        User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            password: SecretHash::from_stored("h".into()),
            disabled: false,
            session_stamp: SessionStamp::parse("stamp0").unwrap(),
            profile: verified("alice@example.com"),
            created_at: 0,
        }
    }

    #[test]
    fn an_update_stores_the_profile_only_and_ends_no_session() {
        let mut d = Doubles::new();
        d.users
            .expect_set_user_profile()
            .times(1)
            .returning(|id, profile| {
                assert_eq!(id.as_str(), "u1");
                assert_eq!(profile.name.as_deref(), Some("Alice L."));
                Ok(true)
            });
        d.users.expect_set_session_stamp().never();
        d.users.expect_change_password().never();
        d.tokens.expect_revoke_grants_of_user().never();
        let ports = d.ports();
        let update = ProfileUpdate {
            name: Change::Set("Alice L.".into()),
            ..Default::default()
        };
        let stored = update_profile(&ports, &alice(), &update).unwrap().unwrap();
        assert_eq!(stored.email.as_deref(), Some("alice@example.com"));
    }

    #[test]
    fn an_invalid_update_writes_nothing_and_a_vanished_user_is_reported() {
        let mut d = Doubles::new();
        // Once: the invalid update never reaches the store.
        d.users
            .expect_set_user_profile()
            .times(1)
            .returning(|_, _| Ok(false));
        let ports = d.ports();
        let bad = ProfileUpdate {
            email: Change::Set("nope".into()),
            ..Default::default()
        };
        assert!(matches!(
            update_profile(&ports, &alice(), &bad),
            Err(UpdateProfileError::Invalid(ProfileError::EmailInvalid(..)))
        ));
        let fine = ProfileUpdate {
            name: Change::Clear,
            ..Default::default()
        };
        assert_eq!(update_profile(&ports, &alice(), &fine).unwrap(), None);
    }
}
