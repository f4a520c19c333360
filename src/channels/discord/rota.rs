//! The on-duty rota for chat pages: which role or user an urgent page addresses
//! at a given moment, from `[discord] on_duty` slots in the calendar's time zone.
//! Resolved when a page is sent, so a retry addresses who is on duty then.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::config::RotaSlot;

#[derive(Debug, Clone)]
pub struct Rota {
    tz: Tz,
    slots: Vec<RotaSlot>,
}

impl Rota {
    pub fn new(slots: &[RotaSlot], tz: Tz) -> Rota {
        Rota {
            tz,
            slots: slots.to_vec(),
        }
    }

    /// The mention of the first slot covering `now`. A slot whose end is not after
    /// its start runs past midnight into the next day.
    pub fn at(&self, now: DateTime<Utc>) -> Option<&str> {
        let local = now.with_timezone(&self.tz);
        let (day, time) = (local.weekday(), local.time());
        self.slots
            .iter()
            .find(|s| {
                if s.from < s.to {
                    s.days.contains(&day) && s.from <= time && time < s.to
                } else {
                    (s.days.contains(&day) && time >= s.from)
                        || (s.days.contains(&day.pred()) && time < s.to)
                }
            })
            .map(|s| s.mention.as_str())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn slot(days: &[&str], from: &str, to: &str, mention: &str) -> RotaSlot {
        let time = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        RotaSlot {
            days: days.iter().map(|d| d.parse().unwrap()).collect(),
            from: time(from),
            to: time(to),
            mention: mention.into(),
        }
    }

    #[test]
    fn finds_who_is_on_duty() {
        let rota = Rota::new(
            &[
                slot(
                    &["mon", "tue", "wed", "thu", "fri"],
                    "09:00",
                    "18:00",
                    "<@&1>",
                ),
                slot(
                    &["mon", "tue", "wed", "thu", "fri"],
                    "18:00",
                    "09:00",
                    "<@2>",
                ),
                slot(&["sat"], "10:00", "16:00", "<@&3>"),
            ],
            chrono_tz::Asia::Shanghai,
        );
        // 2023-10-09 is a Monday; times are Shanghai local.
        let at = |day: u32, h: u32, m: u32| {
            chrono_tz::Asia::Shanghai
                .with_ymd_and_hms(2023, 10, day, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        let cases = [
            (at(9, 9, 0), Some("<@&1>")),
            (at(9, 17, 59), Some("<@&1>")),
            (at(9, 18, 0), Some("<@2>")),
            (at(10, 3, 0), Some("<@2>")),
            (at(9, 3, 0), None), // Monday 03:00 belongs to Sunday night: no slot
            (at(14, 3, 0), Some("<@2>")), // Saturday 03:00 ends Friday's night slot
            (at(14, 12, 0), Some("<@&3>")),
            (at(15, 12, 0), None),
        ];
        for (now, want) in cases {
            assert_eq!(rota.at(now), want, "{now}");
        }
    }
}
