//! Exponential back-off with jitter between reconnection attempts.

use std::time::Duration;

use rand::Rng;

/// Delays that double from `min` up to `max`, each drawn at random in its upper half ("equal jitter").
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// A back-off from `min` to `max`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            attempt: 0,
        }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(20));
        self.attempt = self.attempt.saturating_add(1);
        let base = self.min.saturating_mul(factor).min(self.max);
        let half = base / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }

    /// The longest delay (used after a refusal).
    pub fn max(&self) -> Duration {
        self.max
    }

    /// Starts over from `min` (after a successful connection).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_max_with_jitter() {
        let (min, max) = (Duration::from_millis(200), Duration::from_secs(10));
        let mut b = Backoff::new(min, max);
        let delays: Vec<Duration> = (0..12).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= min / 2 && delays[0] <= min);
        assert!(delays[3] >= Duration::from_millis(800) && delays[3] <= Duration::from_millis(1600));
        for d in &delays[7..] {
            assert!(*d >= max / 2 && *d <= max, "{d:?}");
        }
        b.reset();
        assert!(b.next_delay() <= min);
        assert_eq!(b.max(), max);
    }
}
