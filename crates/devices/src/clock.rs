//! Simulated time. Readings carry the device's (simulated) time, which may run faster than
//! the wall clock.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Seconds since the Unix epoch on the wall clock.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A clock that starts at `start` (seconds since the Unix epoch) when created and advances
/// `speed` simulated seconds per real second.
///
/// With `follow_wall_clock` (see [`SimClock::catch_up`]) it runs fast only until it reaches the
/// wall clock, then keeps to it: a fleet can replay the last days in minutes and then go on
/// live, without ever producing readings from the future (the backend refuses readings more
/// than a few minutes ahead of the block time).
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    start: u64,
    speed: f64,
    anchor: Instant,
    follow_wall_clock: bool,
}

impl SimClock {
    /// The wall clock (speed 1, starting now).
    pub fn real_time() -> Self {
        Self {
            start: unix_now(),
            speed: 1.0,
            anchor: Instant::now(),
            follow_wall_clock: true,
        }
    }

    /// Starts at `start` and runs `speed` times faster than real time, without bound.
    pub fn new(start: u64, speed: f64) -> Result<Self> {
        if !(speed.is_finite() && speed > 0.0) {
            return Err(Error::invalid("clock speed", "must be a positive number"));
        }
        Ok(Self {
            start,
            speed,
            anchor: Instant::now(),
            follow_wall_clock: false,
        })
    }

    /// Starts at `start` (normally in the past), runs `speed` times faster than real time
    /// until it reaches the wall clock, then follows it.
    pub fn catch_up(start: u64, speed: f64) -> Result<Self> {
        Ok(Self {
            follow_wall_clock: true,
            ..Self::new(start, speed)?
        })
    }

    /// Simulated seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        let elapsed = self.anchor.elapsed().as_secs_f64() * self.speed;
        let simulated = self.start.saturating_add(elapsed as u64);
        if self.follow_wall_clock && simulated > self.start {
            // Never behind the start, never ahead of the wall clock once caught up.
            simulated.min(unix_now().max(self.start))
        } else {
            simulated
        }
    }

    /// The start time.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Simulated seconds per real second.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Whether the clock stops running fast at the wall clock.
    pub fn follows_wall_clock(&self) -> bool {
        self.follow_wall_clock
    }

    /// Real time needed for `simulated` seconds to pass at this speed.
    pub fn real_duration(&self, simulated: Duration) -> Duration {
        Duration::from_secs_f64(simulated.as_secs_f64() / self.speed)
    }
}

/// Seconds in a day.
pub(crate) const DAY: u64 = 86_400;

/// Day number since the epoch.
pub(crate) fn day_of(t: u64) -> u64 {
    t / DAY
}

/// 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday). Simulated time is UTC.
pub(crate) fn weekday(day: u64) -> u64 {
    (day + 3) % 7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays() {
        // 2024-01-01 was a Monday.
        assert_eq!(weekday(day_of(1_704_067_200)), 0);
        assert_eq!(weekday(day_of(1_704_067_200 + 6 * DAY)), 6);
    }

    #[test]
    fn fast_clock_advances_and_catch_up_stops_at_the_wall_clock() {
        let fast = SimClock::new(1_000, 1_000_000.0).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(fast.now() >= 1_000 + 4_000);
        let catching = SimClock::catch_up(unix_now() - 10, 1e9).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(catching.now() <= unix_now());
        assert!(SimClock::new(0, 0.0).is_err());
        assert!(SimClock::new(0, f64::NAN).is_err());
    }
}
