//! The config converted once, at load: calendar and SLA policy, schedules,
//! addresses, durations, chat ids, the on-duty rota and group labels, in the
//! types the program uses. Nothing after `Config::load` parses a string again.
//!
//! Invariant: `derive` is the only place these conversions happen; an error
//! names the section and key, for `ConfigError::Invalid`.

use std::collections::HashMap;
use std::net::SocketAddr;

use chrono::{Duration, NaiveTime, Weekday};
use chrono_tz::Tz;

use super::{elapsed, Config, DigestConfig, DiscordConfig, MetricsConfig};
use crate::core::calendar::Calendar;
use crate::core::sla::Policy;
use crate::core::ticket::Lang;
use crate::queue::Cadence;
use crate::stats::digest::{DigestSettings, Schedule};
use crate::stats::Basis;

/// What the program reads instead of the file's strings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: Policy,
    /// For requesters whose message shows none, and for staff.
    pub default_lang: Lang,
    pub basis: Basis,
    /// `None`: no `[digest]`.
    pub digest: Option<DigestSettings>,
    /// `None`: no `[metrics]`.
    pub metrics: Option<MetricsSettings>,
    pub alerts: AlertSettings,
    /// `None`: no `[discord]`.
    pub discord: Option<DiscordIds>,
    /// Group name → the label requesters see, for the groups that set one.
    pub group_labels: HashMap<String, String>,
    /// `[retention] closed_after`: `None` keeps closed tickets' personal data.
    pub retention: Option<Duration>,
}

impl Default for Settings {
    /// What an empty file means; `Config::parse` replaces it with the file's.
    fn default() -> Settings {
        let policy = Policy::default();
        Settings {
            basis: Basis::new(&policy),
            policy,
            default_lang: Lang::default(),
            digest: None,
            metrics: None,
            alerts: AlertSettings::default(),
            discord: None,
            group_labels: HashMap::new(),
            retention: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSettings {
    pub addr: SocketAddr,
    pub imap_unhealthy_after: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    pub every: Duration,
    pub imap_failures: u32,
    pub dead_letters: u64,
    pub token_expiry_warning: Duration,
}

impl Default for AlertSettings {
    fn default() -> AlertSettings {
        AlertSettings {
            every: Duration::hours(1),
            imap_failures: 3,
            dead_letters: 10,
            token_expiry_warning: Duration::minutes(15),
        }
    }
}

/// `[discord]` and `[groups.*].chat_channel` ids as numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordIds {
    pub guild: u64,
    pub help_channel: Option<u64>,
    pub technician_role: u64,
    pub on_duty_channel: Option<u64>,
    /// Group name → its channel.
    pub group_channels: HashMap<String, u64>,
    pub rota: Vec<RotaSlot>,
}

/// One `[[discord.on_duty]]` slot: who is paged on these days between these times.
#[derive(Debug, Clone, PartialEq)]
pub struct RotaSlot {
    pub days: Vec<Weekday>,
    pub from: NaiveTime,
    /// Not after `from`: the slot runs past midnight.
    pub to: NaiveTime,
    /// `<@&ROLE_ID>` or `<@USER_ID>`.
    pub mention: String,
}

/// Section, key and reason of the first value that does not convert.
pub(super) type Invalid = (String, &'static str, String);

fn at(section: &str) -> impl Fn((&'static str, String)) -> Invalid + '_ {
    move |(key, reason)| (section.to_string(), key, reason)
}

/// Converts every value the program uses; the first that does not convert is the error.
pub(super) fn derive(config: &Config) -> Result<Settings, Invalid> {
    let calendar = calendar(config).map_err(at("calendar"))?;
    let default_lang = Lang::parse(&config.helpdesk.default_language).ok_or_else(|| {
        (
            "helpdesk".to_string(),
            "default_language",
            format!(
                "must be \"en\" or \"zh-CN\", got {:?}",
                config.helpdesk.default_language
            ),
        )
    })?;
    let policy = policy(config, calendar, default_lang);
    let basis = Basis::new(&policy);
    let digest = match &config.digest {
        Some(d) => Some(digest(d, default_lang, &basis, config).map_err(at("digest"))?),
        None => None,
    };
    let metrics = match &config.metrics {
        Some(m) => Some(metrics(m).map_err(at("metrics"))?),
        None => None,
    };
    let alerts = alerts(config).map_err(at("alerts"))?;
    let mut group_channels = HashMap::new();
    for (name, group) in &config.groups {
        if let Some(channel) = &group.chat_channel {
            let n =
                snowflake(channel).map_err(|r| (format!("groups.{name}"), "chat_channel", r))?;
            group_channels.insert(name.clone(), n);
        }
    }
    let discord = match &config.discord {
        Some(d) => Some(discord(d, group_channels).map_err(at("discord"))?),
        None => None,
    };
    let group_labels = config
        .groups
        .iter()
        .filter_map(|(name, g)| Some((name.clone(), g.label.clone()?)))
        .collect();
    let retention = match config.retention.closed_after {
        Some(span) => {
            Some(elapsed(span).map_err(|r| ("retention".to_string(), "closed_after", r))?)
        }
        None => None,
    };
    Ok(Settings {
        policy,
        default_lang,
        basis,
        digest,
        metrics,
        alerts,
        discord,
        group_labels,
        retention,
    })
}

fn calendar(config: &Config) -> Result<Calendar, (&'static str, String)> {
    let c = &config.calendar;
    let tz: Tz = c.timezone.parse().map_err(|_| {
        (
            "timezone",
            format!(
                "unknown time zone {:?} (use an IANA name like \"Asia/Shanghai\")",
                c.timezone
            ),
        )
    })?;
    let days = c
        .working_days
        .iter()
        .map(|d| weekday(d).map_err(|r| ("working_days", r)))
        .collect::<Result<Vec<_>, _>>()?;
    let start = time(&c.day_start).map_err(|r| ("day_start", r))?;
    let end = time(&c.day_end).map_err(|r| ("day_end", r))?;
    Calendar::new(
        tz,
        &days,
        start,
        end,
        c.holidays.iter().copied(),
        c.extra_working_days.iter().copied(),
    )
    .map_err(|e| ("working_days", e.to_string()))
}

fn policy(config: &Config, calendar: Calendar, staff_lang: Lang) -> Policy {
    let s = &config.sla;
    Policy {
        calendar,
        ack_within: s.ack,
        ack_within_urgent: s.ack_urgent,
        resolve_urgent: s.urgent,
        resolve_high: s.high,
        resolve_medium: s.medium,
        resolve_low: s.low,
        progress_every: s.progress_every,
        breach_warning_ratio: s.breach_warning_ratio,
        repage_every: s.repage_every,
        confirm_reminder_after: s.confirm_reminder_after,
        auto_close_after: s.auto_close_after,
        reopen_window: s.reopen_window,
        staff_lang,
    }
}

fn digest(
    d: &DigestConfig,
    default_lang: Lang,
    basis: &Basis,
    config: &Config,
) -> Result<DigestSettings, (&'static str, String)> {
    let lang = match d.language.as_deref() {
        None => default_lang,
        Some(l) => Lang::parse(l).ok_or_else(|| {
            (
                "language",
                format!("must be \"en\" or \"zh-CN\", got {l:?}"),
            )
        })?,
    };
    if let Some(bad) = d.email.iter().find(|a| !a.contains('@')) {
        return Err(("email", format!("{bad:?} is not an email address")));
    }
    Ok(DigestSettings {
        weekly: Schedule::parse(Cadence::Weekly, &d.weekly).map_err(|r| ("weekly", r))?,
        monthly: Schedule::parse(Cadence::Monthly, &d.monthly).map_err(|r| ("monthly", r))?,
        email: d.email.clone(),
        chat_channel: d.chat_channel.clone(),
        lang,
        basis: basis.clone(),
        message_id_domain: config.helpdesk.message_id_domain.clone(),
    })
}

fn metrics(m: &MetricsConfig) -> Result<MetricsSettings, (&'static str, String)> {
    let addr: SocketAddr = m.listen.parse().map_err(|_| {
        (
            "listen",
            format!("{:?} is not an address like \"127.0.0.1:9464\"", m.listen),
        )
    })?;
    if !addr.ip().is_loopback() && !m.allow_remote {
        return Err(("listen", format!("{addr} is reachable from other machines and the endpoints have no authentication; use a loopback address, or set [metrics].allow_remote = true")));
    }
    Ok(MetricsSettings {
        addr,
        imap_unhealthy_after: elapsed(m.imap_unhealthy_after)
            .map_err(|r| ("imap_unhealthy_after", r))?,
    })
}

fn alerts(config: &Config) -> Result<AlertSettings, (&'static str, String)> {
    let a = &config.alerts;
    if a.imap_failures == 0 {
        return Err(("imap_failures", "must be at least 1".into()));
    }
    if a.dead_letters == 0 {
        return Err(("dead_letters", "must be at least 1".into()));
    }
    Ok(AlertSettings {
        every: elapsed(a.every).map_err(|r| ("every", r))?,
        imap_failures: a.imap_failures,
        dead_letters: a.dead_letters,
        token_expiry_warning: elapsed(a.token_expiry_warning)
            .map_err(|r| ("token_expiry_warning", r))?,
    })
}

fn discord(
    d: &DiscordConfig,
    group_channels: HashMap<String, u64>,
) -> Result<DiscordIds, (&'static str, String)> {
    let id = |key: &'static str, s: &str| snowflake(s).map_err(|r| (key, r));
    let optional = |key: &'static str, s: &Option<String>| {
        s.as_deref()
            .map(|s| snowflake(s).map_err(|r| (key, r)))
            .transpose()
    };
    optional("lead_role", &d.lead_role)?;
    Ok(DiscordIds {
        guild: id("guild_id", &d.guild_id)?,
        help_channel: optional("help_channel", &d.help_channel)?,
        technician_role: id("technician_role", &d.technician_role)?,
        on_duty_channel: optional("on_duty_channel", &d.on_duty_channel)?,
        group_channels,
        rota: rota(d)?,
    })
}

fn rota(d: &DiscordConfig) -> Result<Vec<RotaSlot>, (&'static str, String)> {
    d.on_duty
        .iter()
        .enumerate()
        .map(|(n, slot)| {
            let bad = |r: String| ("on_duty", format!("slot {}: {r}", n + 1));
            if slot.days.is_empty() {
                return Err(bad("days is empty".into()));
            }
            if !super::is_mention(&slot.mention) {
                return Err(bad(format!(
                    "mention {:?} must be <@&ROLE_ID> or <@USER_ID>",
                    slot.mention
                )));
            }
            Ok(RotaSlot {
                days: slot
                    .days
                    .iter()
                    .map(|d| weekday(d))
                    .collect::<Result<_, _>>()
                    .map_err(bad)?,
                from: time(&slot.from).map_err(bad)?,
                to: time(&slot.to).map_err(bad)?,
                mention: slot.mention.clone(),
            })
        })
        .collect()
}

fn weekday(d: &str) -> Result<Weekday, String> {
    d.parse()
        .map_err(|_| format!("{d:?} is not a weekday (use mon, tue, …)"))
}

fn time(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("{s:?} is not a time like \"09:00\""))
}

/// A Discord id: a positive number.
pub(super) fn snowflake(id: &str) -> Result<u64, String> {
    match id.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{id:?} is not a Discord id (the number Discord shows with developer mode on)"
        )),
    }
}
