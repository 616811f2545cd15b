//! Tamper scenarios: what an attacker does to one car, and when.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Readings a car produces honestly before its scenario starts, unless told otherwise.
pub const DEFAULT_AFTER_READINGS: u64 = 20;
/// Distance wound back by default, km.
pub const DEFAULT_ROLLBACK_KM: u64 = 50_000;

/// What the attacker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scenario {
    /// The odometer is wound back by `km` and the device keeps reporting from there, with its
    /// own key and fresh counters.
    Rollback {
        /// Distance wound back (halved odometer if the car has driven less).
        km: u64,
    },
    /// The key and state are copied out of the box after `stolen_at_readings` readings; when
    /// the scenario starts, a second box with that key and the old counter reports too.
    Clone {
        /// When the copy is taken (default: half of `after_readings`).
        stolen_at_readings: Option<u64>,
    },
    /// Already accepted envelopes are posted again.
    Replay,
    /// Envelopes with corrupted signatures are posted for the device.
    Forge,
    /// The unit is replaced by one with a new, unregistered key (same device id, counter
    /// carried over).
    Swap,
}

impl Scenario {
    /// Name used on the command line and in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Rollback { .. } => "rollback",
            Self::Clone { .. } => "clone",
            Self::Replay => "replay",
            Self::Forge => "forge",
            Self::Swap => "swap",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rollback { km } => write!(f, "rollback:{km}"),
            Self::Clone {
                stolen_at_readings: Some(n),
            } => write!(f, "clone:{n}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Scenario {
    type Err = Error;

    /// `rollback[:KM]`, `clone[:STOLEN_AT_READINGS]`, `replay`, `forge`, `swap`.
    fn from_str(s: &str) -> Result<Self> {
        let (name, arg) = match s.split_once(':') {
            Some((name, arg)) => (name, Some(arg)),
            None => (s, None),
        };
        let number = |arg: &str| {
            arg.trim()
                .parse::<u64>()
                .map_err(|_| Error::invalid("scenario", format!("{arg:?} is not a number")))
        };
        let scenario = match (name.trim().to_ascii_lowercase().as_str(), arg) {
            ("rollback", None) => Self::Rollback {
                km: DEFAULT_ROLLBACK_KM,
            },
            ("rollback", Some(arg)) => Self::Rollback { km: number(arg)? },
            ("clone", None) => Self::Clone {
                stolen_at_readings: None,
            },
            ("clone", Some(arg)) => Self::Clone {
                stolen_at_readings: Some(number(arg)?),
            },
            ("replay", None) => Self::Replay,
            ("forge", None) => Self::Forge,
            ("swap", None) => Self::Swap,
            _ => {
                return Err(Error::invalid(
                    "scenario",
                    format!(
                        "{s:?} (expected rollback[:KM], clone[:STOLEN_AT], replay, forge or swap)"
                    ),
                ));
            }
        };
        Ok(scenario)
    }
}

/// A scenario and when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TamperPlan {
    /// What happens.
    pub scenario: Scenario,
    /// Honest readings before it starts.
    pub after_readings: u64,
}

impl TamperPlan {
    /// `scenario` after [`DEFAULT_AFTER_READINGS`] honest readings.
    pub fn new(scenario: Scenario) -> Self {
        Self {
            scenario,
            after_readings: DEFAULT_AFTER_READINGS,
        }
    }

    /// The reading count at which a clone's copy is taken.
    pub(crate) fn stolen_at(&self) -> Option<u64> {
        match self.scenario {
            Scenario::Clone { stolen_at_readings } => Some(
                stolen_at_readings
                    .unwrap_or(self.after_readings / 2)
                    .min(self.after_readings),
            ),
            _ => None,
        }
    }
}

/// A plan for the device at `device` (0-based index in the fleet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TamperAssignment {
    /// Index of the device in the fleet.
    pub device: usize,
    /// The plan.
    pub plan: TamperPlan,
}

impl FromStr for TamperAssignment {
    type Err = Error;

    /// `INDEX=SCENARIO[@AFTER_READINGS]`, e.g. `3=rollback:40000@25`, `0=clone`, `5=swap@10`.
    fn from_str(s: &str) -> Result<Self> {
        let (index, rest) = s.split_once('=').ok_or_else(|| {
            Error::invalid(
                "tamper assignment",
                format!("{s:?} (expected INDEX=SCENARIO[@N])"),
            )
        })?;
        let device = index
            .trim()
            .parse()
            .map_err(|_| Error::invalid("tamper assignment", format!("bad index {index:?}")))?;
        let (scenario, after) = match rest.split_once('@') {
            Some((scenario, after)) => (
                scenario,
                after.trim().parse().map_err(|_| {
                    Error::invalid("tamper assignment", format!("bad reading count {after:?}"))
                })?,
            ),
            None => (rest, DEFAULT_AFTER_READINGS),
        };
        Ok(Self {
            device,
            plan: TamperPlan {
                scenario: scenario.parse()?,
                after_readings: after,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_assignments() {
        let a: TamperAssignment = "3=rollback:40000@25".parse().unwrap();
        assert_eq!(a.device, 3);
        assert_eq!(a.plan.scenario, Scenario::Rollback { km: 40_000 });
        assert_eq!(a.plan.after_readings, 25);
        let b: TamperAssignment = "0=clone".parse().unwrap();
        assert_eq!(b.plan.stolen_at(), Some(DEFAULT_AFTER_READINGS / 2));
        for text in ["replay", "forge", "swap", "rollback", "clone:4"] {
            let s: Scenario = text.parse().unwrap();
            assert_eq!(s.to_string().split(':').next(), text.split(':').next());
        }
        assert!("x=swap".parse::<TamperAssignment>().is_err());
        assert!("1=melt".parse::<TamperAssignment>().is_err());
        assert!("1=swap@x".parse::<TamperAssignment>().is_err());
    }
}
