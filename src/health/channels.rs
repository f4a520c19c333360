//! The channel gauges, written at each scrape from the reported state, so a
//! channel that is off has no series at all (an `imap_up` of 1 for a mailbox
//! nobody reads would be a lie): `imap_*` with `[imap]`, `smtp_up` with
//! `[smtp]`, `chat_gateway_state` with a chat channel.

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use super::{GatewayState, State};

#[derive(Debug)]
pub(super) struct ChannelCollector {
    pub(super) state: Arc<Mutex<State>>,
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let g = ConstGauge::new(value);
    g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for ChannelCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (imap, smtp_up, gateway) = {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            (state.imap.clone(), state.smtp_up, state.gateway)
        };
        if let Some(imap) = imap {
            gauge(
                &mut encoder,
                "imap_up",
                "1 unless the IMAP intake is failing",
                i64::from(imap.consecutive_failures == 0),
            )?;
            gauge(
                &mut encoder,
                "imap_consecutive_failures",
                "IMAP connection, login or session failures since the last success",
                i64::from(imap.consecutive_failures),
            )?;
            gauge(
                &mut encoder,
                "imap_last_success_timestamp_seconds",
                "Unix time the mailbox was last read through (0: not yet)",
                imap.last_success.map_or(0, |t| t.timestamp()),
            )?;
        }
        if let Some(up) = smtp_up {
            gauge(
                &mut encoder,
                "smtp_up",
                "1 unless the last mail handed to the SMTP server failed for a reason that may pass (connection, login, 4xx)",
                i64::from(up),
            )?;
        }
        if gateway != GatewayState::Disabled {
            let mut family = encoder.encode_descriptor(
                "chat_gateway_state",
                "Chat gateway connection: 1 for the current state",
                None,
                MetricType::Gauge,
            )?;
            for s in GatewayState::ALL {
                if s == GatewayState::Disabled {
                    continue;
                }
                ConstGauge::new(i64::from(s == gateway))
                    .encode(family.encode_family(&[("state", s.key())])?)?;
            }
        }
        Ok(())
    }
}
