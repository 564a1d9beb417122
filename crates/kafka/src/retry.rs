//! Retrying an operation until it succeeds, fails for good, or is cancelled: how the sink keeps
//! a batch in hand while ClickHouse or a broker is away, and how the mastery follower keeps a
//! cycle's changes until they are published.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use tokio_util::sync::CancellationToken;

/// Pauses between attempts: the first one long, then doubling up to a cap, without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The pause before the first retry of every learnstream operation.
    pub const FIRST: Duration = Duration::from_millis(100);

    /// From [`Backoff::FIRST`], doubling up to `cap`.
    pub const fn capped_at(cap: Duration) -> Backoff {
        Backoff {
            first: Backoff::FIRST,
            cap,
        }
    }
}

/// Why [`retry_until_cancelled`] ended without a value.
#[derive(Debug, PartialEq, Eq)]
pub enum Halted<E> {
    /// `stop` was cancelled, during an attempt or a pause.
    Cancelled,
    /// The attempt failed with an error that no retry can fix.
    Permanent(E),
}

/// Runs `attempt` until it succeeds. After an error that `permanent` calls fixable, `on_retry`
/// hears it with the pause that follows (for a log line and a counter), and the next attempt
/// comes after the pause. Ends early on a permanent error and on `stop`, which interrupts an
/// attempt as well as a pause.
pub async fn retry_until_cancelled<T, E, F, Fut>(
    stop: &CancellationToken,
    backoff: Backoff,
    attempt: F,
    mut permanent: impl FnMut(&E) -> bool,
    mut on_retry: impl FnMut(&E, Duration),
) -> Result<T, Halted<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let schedule = ExponentialBuilder::new()
        .with_min_delay(backoff.first)
        .with_max_delay(backoff.cap)
        .with_factor(2.0)
        .without_max_times();
    let retried = attempt
        .retry(schedule)
        .sleep(tokio::time::sleep)
        .when(|error| !permanent(error))
        .notify(|error, pause| on_retry(error, pause));
    tokio::select! {
        biased;
        () = stop.cancelled() => Err(Halted::Cancelled),
        outcome = retried => outcome.map_err(Halted::Permanent),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    const QUICK: Backoff = Backoff {
        first: Duration::from_millis(1),
        cap: Duration::from_millis(4),
    };

    #[tokio::test]
    async fn fixable_errors_are_retried_with_doubling_pauses_up_to_the_cap() {
        let attempts = Cell::new(0);
        let mut pauses = Vec::new();
        let value = retry_until_cancelled(
            &CancellationToken::new(),
            QUICK,
            || {
                attempts.set(attempts.get() + 1);
                let failed = attempts.get() < 6;
                async move { if failed { Err("away") } else { Ok(42) } }
            },
            |_| false,
            |_, pause| pauses.push(pause),
        )
        .await;
        assert_eq!(value, Ok(42));
        assert_eq!(attempts.get(), 6);
        let millis: Vec<u128> = pauses.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [1, 2, 4, 4, 4]);
    }

    #[tokio::test]
    async fn a_permanent_error_ends_the_retries_at_once() {
        let attempts = Cell::new(0);
        let outcome: Result<(), _> = retry_until_cancelled(
            &CancellationToken::new(),
            QUICK,
            || {
                attempts.set(attempts.get() + 1);
                async { Err("malformed") }
            },
            |error| *error == "malformed",
            |_, _| panic!("a permanent error is not retried"),
        )
        .await;
        assert_eq!(outcome, Err(Halted::Permanent("malformed")));
        assert_eq!(attempts.get(), 1);
    }

    #[tokio::test]
    async fn cancelling_ends_a_pause_and_an_attempt() {
        let stop = CancellationToken::new();
        let long = Backoff::capped_at(Duration::from_secs(3600));
        let outcome: Result<(), Halted<&str>> = retry_until_cancelled(
            &stop,
            long,
            || async { Err("away") },
            |_| false,
            |_, _| stop.cancel(),
        )
        .await;
        assert_eq!(outcome, Err(Halted::Cancelled));

        let stop = CancellationToken::new();
        stop.cancel();
        let outcome: Result<(), Halted<&str>> =
            retry_until_cancelled(&stop, long, std::future::pending, |_| false, |_, _| {}).await;
        assert_eq!(outcome, Err(Halted::Cancelled));
    }
}
