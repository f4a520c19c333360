//! The quarantine: messages that could not be processed, kept sealed
//! (`seal.rs`) so they are never lost and never block the ones behind them.

use super::{codec, Store, StoreError};
use crate::queue::Quarantined;

impl Store {
    /// Keeps a message that could not be processed, so it is never lost and
    /// never blocks the messages behind it; sealed (`seal.rs`).
    pub fn quarantine(&self, item: &Quarantined) -> Result<(), StoreError> {
        let t = self.t()?;
        let stored = Quarantined {
            raw: self.sealer.seal(&item.raw)?,
            sealed: true,
            ..item.clone()
        };
        let _w = self.writing();
        t.quarantine
            .insert(item.id.to_be_bytes(), codec::encode(&stored))?;
        Ok(())
    }

    pub fn quarantined(&self) -> impl Iterator<Item = Result<Quarantined, StoreError>> + '_ {
        self.records(|t| &t.quarantine, b"").map(|item| {
            let (_, v) = item?;
            self.unseal(codec::decode("quarantined message", &v)?)
        })
    }

    pub fn quarantined_item(&self, id: u64) -> Result<Option<Quarantined>, StoreError> {
        let t = self.t()?;
        match t.quarantine.get(id.to_be_bytes())? {
            Some(v) => Ok(Some(
                self.unseal(codec::decode("quarantined message", &v)?)?,
            )),
            None => Ok(None),
        }
    }

    /// Opens a sealed message; without the key it stays sealed, and empty.
    pub(super) fn unseal(&self, mut item: Quarantined) -> Result<Quarantined, StoreError> {
        if item.sealed {
            match self.sealer.open(&item.raw)? {
                Some(raw) => {
                    item.raw = raw;
                    item.sealed = false;
                }
                None => item.raw.clear(),
            }
        }
        Ok(item)
    }

    pub fn release(&self, id: u64) -> Result<bool, StoreError> {
        let t = self.t()?;
        let _w = self.writing();
        Ok(t.quarantine.remove(id.to_be_bytes())?.is_some())
    }
}
