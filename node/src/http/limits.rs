//! Rate limits on the two doors anyone can knock on: sign-in and the public application
//! form. Sign-in is limited per username and client address together (password guessing
//! against one account) and per client address (guessing across accounts); the form per
//! client address and for the whole node (a flood from many addresses). Counting is
//! `governor`'s (GCRA).
//!
//! Why the username's limit is also keyed by address: keyed by username alone, anyone who
//! knows an account's name could keep it locked for ever by sending a wrong password every
//! few seconds, and its owner could never sign in. Keyed by both, a guesser spends only
//! their own budget; guessing one account from many addresses is bounded by each address's
//! limit and by argon2's cost.
//!
//! The client address is the TCP peer's (`ConnectInfo`). Behind a reverse proxy every
//! client has the proxy's address, so the per-address limits then act node-wide, and the
//! per-username limit as one for the whole account again (docs/operator-guide.md).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, StatusCode};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;

/// Sign-in attempts per username from one address: 10 at once, then one every 6 seconds.
const SIGN_IN_PER_NAME: (u32, Duration) = (10, Duration::from_secs(6));
/// Sign-in attempts per client address: 30 at once, then one a second.
const SIGN_IN_PER_ADDRESS: (u32, Duration) = (30, Duration::from_secs(1));
/// First-sign-in links tried on the whole node: 10 at once, then one every 6 seconds (a
/// link holds 256 random bits, so this only keeps guessing from costing disk writes).
const FIRST_SIGN_IN_ALL: (u32, Duration) = (10, Duration::from_secs(6));
/// Applications per client address: 5 at once, then one a minute.
const APPLY_PER_ADDRESS: (u32, Duration) = (5, Duration::from_secs(60));
/// Applications to the whole node: 30 at once, then one every 2 seconds.
const APPLY_ALL: (u32, Duration) = (30, Duration::from_secs(2));
/// Keys remembered before the ones whose limits have fully refilled are forgotten.
const MAX_KEYS: usize = 10_000;

fn quota((burst, every): (u32, Duration)) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

/// The node's limiters (one set per node, shared by the API and the pages).
pub struct Limits {
    sign_in_by_name: DefaultKeyedRateLimiter<(String, Option<IpAddr>)>,
    sign_in_by_address: DefaultKeyedRateLimiter<IpAddr>,
    apply_by_address: DefaultKeyedRateLimiter<IpAddr>,
    apply_all: DefaultDirectRateLimiter,
    first_sign_in_all: DefaultDirectRateLimiter,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            sign_in_by_name: RateLimiter::keyed(quota(SIGN_IN_PER_NAME)),
            sign_in_by_address: RateLimiter::keyed(quota(SIGN_IN_PER_ADDRESS)),
            apply_by_address: RateLimiter::keyed(quota(APPLY_PER_ADDRESS)),
            apply_all: RateLimiter::direct(quota(APPLY_ALL)),
            first_sign_in_all: RateLimiter::direct(quota(FIRST_SIGN_IN_ALL)),
        }
    }
}

impl Limits {
    /// Counts a sign-in attempt for `username` from `client`; refused with 429 (and when to
    /// try again) once either limit is spent. Every attempt counts, good or bad: a person
    /// signs in a few times a day, a guesser thousands.
    pub fn sign_in(&self, username: &str, client: Option<IpAddr>) -> Result<(), ApiError> {
        if let Some(ip) = client {
            check_keyed(&self.sign_in_by_address, &ip)
                .map_err(|wait| refused("sign-in attempts from this address", wait))?;
        }
        check_keyed(&self.sign_in_by_name, &(username.to_lowercase(), client))
            .map_err(|wait| refused("sign-in attempts for this username", wait))
    }

    /// Counts a try of a one-time sign-in link from `client`: against the sign-in limit of
    /// its address (the same door, another key) and a limit for the whole node, since the
    /// link names no username to count against.
    pub fn first_sign_in(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        if let Some(ip) = client {
            check_keyed(&self.sign_in_by_address, &ip)
                .map_err(|wait| refused("sign-in attempts from this address", wait))?;
        }
        self.first_sign_in_all.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            refused("one-time sign-in attempts", wait)
        })
    }

    /// Counts an application from `client`; refused with 429 once a limit is spent.
    pub fn apply(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        if let Some(ip) = client {
            check_keyed(&self.apply_by_address, &ip)
                .map_err(|wait| refused("applications from this address", wait))?;
        }
        self.apply_all.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            refused("applications to this community", wait)
        })
    }
}

/// The client's address as the server saw it; `None` for in-process calls without one.
pub fn client_address(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

fn check_keyed<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), Duration>
where
    K: std::hash::Hash + Eq + Clone,
{
    if limiter.len() > MAX_KEYS {
        limiter.retain_recent();
    }
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
}

fn refused(what: &str, wait: Duration) -> ApiError {
    let seconds = wait.as_secs().max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        None,
        format!("too many {what}; try again in {seconds} seconds"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_is_limited_per_username_and_address() {
        let limits = Limits::default();
        let home: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..SIGN_IN_PER_NAME.0 {
            limits.sign_in("Dana", Some(home)).unwrap();
        }
        let refused = limits.sign_in("dana", Some(home)).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            refused.body.reason.contains("this username"),
            "{:?}",
            refused.body
        );
        // Another account from the same address is still let through, up to the address's
        // own limit.
        let other = (SIGN_IN_PER_ADDRESS.0 - SIGN_IN_PER_NAME.0 - 1) as usize;
        for i in 0..other {
            limits.sign_in(&format!("user{i}"), Some(home)).unwrap();
        }
        let refused = limits.sign_in("someone", Some(home)).unwrap_err();
        assert!(
            refused.body.reason.contains("this address"),
            "{:?}",
            refused.body
        );
        // Another address is not.
        limits.sign_in("someone", "10.0.0.7".parse().ok()).unwrap();
    }

    #[test]
    fn first_sign_in_links_are_limited_for_the_node_and_share_the_address_limit() {
        let limits = Limits::default();
        for i in 0..FIRST_SIGN_IN_ALL.0 {
            limits
                .first_sign_in(Some(IpAddr::from([127, 0, 2, i as u8])))
                .unwrap();
        }
        let refused = limits.first_sign_in(None).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        // Each try also spent one of its address's sign-in attempts.
        let one: IpAddr = "127.0.0.3".parse().unwrap();
        let limits = Limits::default();
        for _ in 0..FIRST_SIGN_IN_ALL.0 {
            limits.first_sign_in(Some(one)).unwrap();
        }
        let left = SIGN_IN_PER_ADDRESS.0 - FIRST_SIGN_IN_ALL.0;
        for i in 0..left {
            limits.sign_in(&format!("user{i}"), Some(one)).unwrap();
        }
        assert!(limits.sign_in("another", Some(one)).is_err());
    }

    #[test]
    fn guesses_from_one_address_do_not_lock_the_account_out_elsewhere() {
        let limits = Limits::default();
        let guesser: IpAddr = "10.0.0.66".parse().unwrap();
        for _ in 0..SIGN_IN_PER_NAME.0 {
            limits.sign_in("dana", Some(guesser)).unwrap();
        }
        assert!(limits.sign_in("dana", Some(guesser)).is_err());
        // Dana, from her own address, still gets in (her own attempts are counted apart).
        let own: IpAddr = "10.0.0.8".parse().unwrap();
        for _ in 0..SIGN_IN_PER_NAME.0 {
            limits.sign_in("Dana", Some(own)).unwrap();
        }
        assert!(limits.sign_in("dana", Some(own)).is_err());
    }

    #[test]
    fn applications_are_limited_per_address_and_node() {
        let limits = Limits::default();
        let one: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..APPLY_PER_ADDRESS.0 {
            limits.apply(Some(one)).unwrap();
        }
        assert!(limits.apply(Some(one)).is_err());
        let mut let_in = APPLY_PER_ADDRESS.0;
        for i in 0..=255u8 {
            if limits.apply(Some(IpAddr::from([127, 0, 1, i]))).is_ok() {
                let_in += 1;
            }
        }
        assert_eq!(let_in, APPLY_ALL.0);
    }
}
