//! A staged change: reads see the tree plus what this change already wrote; nothing reaches
//! the tree until the whole change is applied as one atomic batch.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    decode_id, decode_referrer, decode_value, encode_value, fwd_key, key, named_key, refs_key,
    refs_prefix, seal, unseal, StoreError, Table,
};

/// A change being staged under the store's write lock. See [`super::Store::commit`].
pub struct WriteTx<'a> {
    tree: &'a sled::Tree,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> WriteTx<'a> {
    pub(super) fn new(tree: &'a sled::Tree) -> WriteTx<'a> {
        WriteTx {
            tree,
            pending: BTreeMap::new(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The keys this change writes or deletes.
    pub(super) fn keys(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.pending.keys()
    }

    pub(super) fn apply(self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for (k, v) in self.pending {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    fn raw_get(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.pending.get(k) {
            Some(v) => Ok(v.clone()),
            None => Ok(self.tree.get(k)?.map(|v| v.to_vec())),
        }
    }

    pub fn get<T: DeserializeOwned>(&self, table: Table, id: u64) -> Result<Option<T>, StoreError> {
        let k = key(table, id);
        match self.raw_get(&k)? {
            Some(v) => Ok(Some(decode_value(&k, &v)?)),
            None => Ok(None),
        }
    }

    pub fn exists(&self, table: Table, id: u64) -> Result<bool, StoreError> {
        let k = key(table, id);
        match self.pending.get(k.as_slice()) {
            Some(v) => Ok(v.is_some()),
            None => Ok(self.tree.contains_key(k)?),
        }
    }

    pub fn put<T: Serialize>(
        &mut self,
        table: Table,
        id: u64,
        value: &T,
    ) -> Result<(), StoreError> {
        self.pending
            .insert(key(table, id).to_vec(), Some(encode_value(value)?));
        Ok(())
    }

    pub fn delete(&mut self, table: Table, id: u64) {
        self.pending.insert(key(table, id).to_vec(), None);
    }

    /// A metadata entry as this change would leave it.
    pub fn get_meta<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        let k = named_key(Table::Meta, name.as_bytes());
        match self.raw_get(&k)? {
            Some(v) => Ok(Some(decode_value(&k, &v)?)),
            None => Ok(None),
        }
    }

    pub fn put_meta<T: Serialize>(&mut self, name: &str, value: &T) -> Result<(), StoreError> {
        self.pending.insert(
            named_key(Table::Meta, name.as_bytes()),
            Some(encode_value(value)?),
        );
        Ok(())
    }

    /// The next id of `table`: 1, 2, 3, … Ids are never reused, also after deletes.
    pub fn next_id(&mut self, table: Table) -> Result<u64, StoreError> {
        let k = named_key(Table::Counter, &[table as u8]);
        let current = match self.raw_get(&k)? {
            Some(v) => decode_id(&k, unseal(&k, &v)?)?,
            None => 0,
        };
        let next = current.checked_add(1).ok_or_else(|| StoreError::Corrupt {
            key: hex::encode(&k),
            reason: "the id counter is exhausted".into(),
        })?;
        self.pending.insert(k, Some(seal(&next.to_be_bytes())));
        Ok(next)
    }

    /// Stores `bytes` (with a checksum) under `name` in `table`: for records that are not
    /// JSON, such as the federation's signed records.
    pub fn blob_put(&mut self, table: Table, name: &[u8], bytes: &[u8]) {
        self.pending
            .insert(named_key(table, name), Some(seal(bytes)));
    }

    pub fn blob_delete(&mut self, table: Table, name: &[u8]) {
        self.pending.insert(named_key(table, name), None);
    }

    /// The checked bytes under `name` in `table`, as this change would leave them.
    pub fn blob_get(&self, table: Table, name: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let k = named_key(table, name);
        match self.raw_get(&k)? {
            Some(v) => Ok(Some(unseal(&k, &v)?.to_vec())),
            None => Ok(None),
        }
    }

    /// Whether `name` is held in `table`, as this change would leave it.
    pub fn blob_exists(&self, table: Table, name: &[u8]) -> Result<bool, StoreError> {
        Ok(self.raw_get(&named_key(table, name))?.is_some())
    }

    /// Points `name` in a name index at `id`.
    pub fn index_put(&mut self, index: Table, name: &[u8], id: u64) {
        self.pending
            .insert(named_key(index, name), Some(seal(&id.to_be_bytes())));
    }

    pub fn index_delete(&mut self, index: Table, name: &[u8]) {
        self.pending.insert(named_key(index, name), None);
    }

    pub fn lookup(&self, index: Table, name: &[u8]) -> Result<Option<u64>, StoreError> {
        let k = named_key(index, name);
        match self.raw_get(&k)? {
            Some(v) => Ok(Some(decode_id(&k, unseal(&k, &v)?)?)),
            None => Ok(None),
        }
    }

    /// Records that `source` now points at `targets`, replacing what it pointed at before,
    /// so that [`WriteTx::referrers`] can answer "who points at this record?".
    pub fn set_refs(
        &mut self,
        source: Table,
        source_id: u64,
        targets: &[(Table, u64)],
    ) -> Result<(), StoreError> {
        for (t, id) in self.forward_refs(source, source_id)? {
            self.pending
                .insert(refs_key(t, id, source, source_id), None);
        }
        let mut fwd = Vec::with_capacity(targets.len() * 9);
        for (t, id) in targets {
            self.pending
                .insert(refs_key(*t, *id, source, source_id), Some(Vec::new()));
            fwd.extend_from_slice(&key(*t, *id));
        }
        let fk = fwd_key(source, source_id);
        if fwd.is_empty() {
            self.pending.insert(fk, None);
        } else {
            self.pending.insert(fk, Some(seal(&fwd)));
        }
        Ok(())
    }

    fn forward_refs(&self, source: Table, source_id: u64) -> Result<Vec<(Table, u64)>, StoreError> {
        let fk = fwd_key(source, source_id);
        let Some(sealed) = self.raw_get(&fk)? else {
            return Ok(Vec::new());
        };
        let raw = unseal(&fk, &sealed)?;
        if raw.len() % 9 != 0 {
            return Err(StoreError::Corrupt {
                key: hex::encode(&fk),
                reason: "malformed forward reference entry".into(),
            });
        }
        raw.chunks(9)
            .map(|c| {
                let t = Table::from_byte(c[0]).ok_or_else(|| StoreError::Corrupt {
                    key: hex::encode(&fk),
                    reason: "unknown table in forward reference".into(),
                })?;
                Ok((t, decode_id(&fk, &c[1..])?))
            })
            .collect()
    }

    /// Deletes a record together with its reference entries.
    pub fn remove(&mut self, table: Table, id: u64) -> Result<(), StoreError> {
        self.set_refs(table, id, &[])?;
        self.delete(table, id);
        Ok(())
    }

    /// The records that point at `target`, as this change would leave them.
    pub fn referrers(
        &self,
        target: Table,
        target_id: u64,
    ) -> Result<Vec<(Table, u64)>, StoreError> {
        let mut found: BTreeMap<Vec<u8>, ()> = BTreeMap::new();
        let prefix = refs_prefix(target, target_id);
        for item in self.tree.scan_prefix(&prefix) {
            let (k, _) = item?;
            found.insert(k.to_vec(), ());
        }
        for (k, v) in self.pending.range(prefix.clone()..) {
            if !k.starts_with(&prefix) {
                break;
            }
            match v {
                Some(_) => found.insert(k.clone(), ()),
                None => found.remove(k),
            };
        }
        found
            .keys()
            .map(|k| decode_referrer(k, prefix.len()))
            .collect()
    }
}
