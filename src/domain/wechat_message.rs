//! A queued WeChat subscription message: its states, and what each of WeChat's answers means
//! for it (sent, refused for good, failed for good, or tried again later).

use chrono::Duration;

use super::string_enum;

string_enum! {
    /// `pending`: waiting for its next attempt (or being attempted); `sent`; `refused`: the
    /// person has not subscribed to the template (or used up their subscriptions), which only
    /// they can change, so it is not tried again; `failed`: given up (retries used up, or an
    /// answer no retry can change).
    MessageStatus {
        Pending => "pending",
        Sent => "sent",
        Refused => "refused",
        Failed => "failed",
    }
}

/// Waits between attempts: the n-th retry comes this long after the n-th attempt.
pub const BACKOFF_SECONDS: &[i64] = &[5, 30, 120, 600, 3600];

/// Attempts in all (the first and every retry).
pub fn max_attempts() -> i32 {
    BACKOFF_SECONDS.len() as i32 + 1
}

/// WeChat's errcode 43101: the user has not accepted (or has used up) the subscription.
pub const NOT_SUBSCRIBED: i64 = 43101;

/// Answers that say the message itself is wrong (an unknown openid, template or page, a value
/// WeChat refuses): sending it again would fail the same way.
const MESSAGE_WRONG: &[i64] = &[40003, 40037, 41030, 47003];

/// What happens to a message after an attempt that failed with `errcode` (`None`: no answer, a
/// 5xx, or one that is not WeChat's), as attempt number `attempt` (1 for the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Final(MessageStatus),
    RetryIn(Duration),
}

pub fn after_failure(errcode: Option<i64>, attempt: i32) -> Next {
    match errcode {
        Some(NOT_SUBSCRIBED) => Next::Final(MessageStatus::Refused),
        Some(c) if MESSAGE_WRONG.contains(&c) => Next::Final(MessageStatus::Failed),
        _ => match usize::try_from(attempt - 1)
            .ok()
            .and_then(|i| BACKOFF_SECONDS.get(i))
        {
            Some(s) => Next::RetryIn(Duration::seconds(*s)),
            None => Next::Final(MessageStatus::Failed),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_final_and_the_rest_backs_off_until_the_limit() {
        assert_eq!(
            after_failure(Some(43101), 1),
            Next::Final(MessageStatus::Refused)
        );
        assert_eq!(
            after_failure(Some(40037), 1),
            Next::Final(MessageStatus::Failed)
        );
        let waits: Vec<_> = (1..=max_attempts())
            .map(|n| after_failure(Some(-1), n))
            .collect();
        assert_eq!(
            waits,
            [
                Next::RetryIn(Duration::seconds(5)),
                Next::RetryIn(Duration::seconds(30)),
                Next::RetryIn(Duration::minutes(2)),
                Next::RetryIn(Duration::minutes(10)),
                Next::RetryIn(Duration::hours(1)),
                Next::Final(MessageStatus::Failed),
            ]
        );
        assert_eq!(after_failure(None, 2), Next::RetryIn(Duration::seconds(30)));
        assert_eq!(
            after_failure(Some(45009), 1),
            Next::RetryIn(Duration::seconds(5))
        );
    }
}
