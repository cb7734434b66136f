//! The files national staff take away (JSON and CSV), and their offline check.
//!
//! Both carry the national view *and* the signed records it was computed from: every
//! metric report record that contributes (hex of [`SignedRecord::encode`], with its origin
//! and sequence) and the stewards' membership certificates of those origins. So a file
//! proves itself: [`verify_export`] checks every signature, that every report's origin was
//! certified by a steward (by one of the keys the reader trusts, if given) when it signed,
//! recomputes the national view from the records and compares it with the file's figures
//! exactly. A changed digit anywhere is an error naming the place.
//!
//! JSON ([`export_json`], format [`EXPORT_FORMAT`]):
//!
//! ```text
//! { "format": "techhire-metrics-export/1", "exported_at_ms": u64, "node": hex,
//!   "view": NationalView,
//!   "records": [{ "origin", "seq", "period", "community", "hex" }],
//!   "certificates": [{ "member", "steward", "seq", "community", "region",
//!                      "not_before_ms", "not_after_ms", "hex" }] }
//! ```
//!
//! CSV ([`export_csv`]): one header row ([`CSV_COLUMNS`]), then rows by section:
//! - `national`: one per national total; `value` empty when there is nothing to add,
//!   `status` `complete`, `partial`, `withheld` (no community published it) or `not_added`
//!   (medians); `communities_reporting` and `communities_withheld` beside it. Its sources
//!   are the `community` rows of the same period and cell with status `published`.
//! - `community`: one per cell of each community's report; `status` `published` or
//!   `withheld` (`value` empty); `origin` and `seq` name the signed report.
//! - `record`: one per signed report: `value` is the record's hex, with `origin` and `seq`.
//! - `certificate`: one per membership certificate: `value` is its hex, `origin` the member
//!   node's key, `seq` its issuance, `dimension` `steward` and `key` the steward's key.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use techhire_protocol::{
    MembershipCert, MetricReport, Period, PublicKey, RecordKind, SignedRecord, Value,
};

use super::national::{national_view, HeldReport, NationalView, PeriodFilter};

/// The `format` of a JSON export.
pub const EXPORT_FORMAT: &str = "techhire-metrics-export/1";

/// The CSV header.
pub const CSV_COLUMNS: [&str; 13] = [
    "section",
    "period",
    "community",
    "region",
    "metric",
    "dimension",
    "key",
    "value",
    "status",
    "communities_reporting",
    "communities_withheld",
    "origin",
    "seq",
];

/// A JSON export; serialise it with serde.
#[derive(Debug, Serialize)]
pub struct JsonExport<'v, 'a> {
    pub format: &'static str,
    pub exported_at_ms: u64,
    /// The node that computed the view.
    pub node: PublicKey,
    pub view: &'v NationalView<'a>,
    /// The report records the view counts, in the view's order (period, community).
    pub records: Vec<ExportedRecord>,
    /// The membership certificates of those records' origins, by member then issuance.
    pub certificates: Vec<ExportedCertificate>,
}

/// A signed report in an export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedRecord {
    pub origin: PublicKey,
    pub seq: u64,
    pub period: String,
    pub community: String,
    /// Hex of [`SignedRecord::encode`].
    pub hex: String,
}

/// A membership certificate in an export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedCertificate {
    pub member: PublicKey,
    pub steward: PublicKey,
    pub seq: u64,
    pub community: String,
    pub region: String,
    pub not_before_ms: u64,
    pub not_after_ms: u64,
    /// Hex of [`SignedRecord::encode`].
    pub hex: String,
}

/// The region of `origin`'s latest membership certificate among `certificates` (latest
/// `not_after_ms`, as [`techhire_protocol::Membership::members`] chooses). Build
/// [`HeldReport::region`] with this so that [`verify_export`], which derives regions the
/// same way from the exported certificates, finds the same community tables.
pub fn region_of(certificates: &[SignedRecord], origin: &PublicKey) -> Option<String> {
    certificates
        .iter()
        .filter(|r| r.kind() == RecordKind::MEMBERSHIP_CERT)
        .filter_map(|r| MembershipCert::decode(r.payload()).ok())
        .filter(|c| c.member == *origin)
        .max_by(|a, b| {
            (a.not_after_ms, a.not_before_ms, &a.community, &a.region).cmp(&(
                b.not_after_ms,
                b.not_before_ms,
                &b.community,
                &b.region,
            ))
        })
        .map(|c| c.region)
}

/// The reports the view counts, in its order (period, then community). Reports the view
/// names but `reports` lacks are left out (the export would then not verify).
fn contributing<'r>(reports: &'r [HeldReport], view: &NationalView<'_>) -> Vec<&'r HeldReport> {
    let by_key: HashMap<(PublicKey, u64), &'r HeldReport> = reports
        .iter()
        .map(|h| ((*h.record.signer(), h.record.seq()), h))
        .collect();
    view.periods
        .iter()
        .flat_map(|p| p.communities.iter())
        .filter_map(|c| by_key.get(&(c.origin, c.seq)).copied())
        .collect()
}

/// The certificates (decodable, of kind certificate) of the contributing origins, by member,
/// issuance, steward; each once.
fn certificates_for<'c>(
    certificates: &'c [SignedRecord],
    reports: &[&HeldReport],
) -> Vec<(&'c SignedRecord, MembershipCert)> {
    let origins: BTreeSet<PublicKey> = reports.iter().map(|h| *h.record.signer()).collect();
    let mut out: Vec<(&SignedRecord, MembershipCert, Vec<u8>)> = certificates
        .iter()
        .filter(|r| r.kind() == RecordKind::MEMBERSHIP_CERT)
        .filter_map(|r| {
            let cert = MembershipCert::decode(r.payload()).ok()?;
            origins
                .contains(&cert.member)
                .then(|| (r, cert, r.encode()))
        })
        .collect();
    out.sort_by(|a, b| {
        (a.1.member, a.0.seq(), a.0.signer(), &a.2).cmp(&(
            b.1.member,
            b.0.seq(),
            b.0.signer(),
            &b.2,
        ))
    });
    out.dedup_by(|a, b| a.2 == b.2);
    out.into_iter().map(|(r, c, _)| (r, c)).collect()
}

/// The JSON export of `view`: the view, the report records it counts (taken from
/// `reports`) and the membership certificates of their origins (taken from
/// `certificates`; others are left out).
pub fn export_json<'v, 'a>(
    reports: &[HeldReport],
    certificates: &[SignedRecord],
    view: &'v NationalView<'a>,
    exported_at_ms: u64,
    node: &PublicKey,
) -> JsonExport<'v, 'a> {
    let chosen = contributing(reports, view);
    let certificates = certificates_for(certificates, &chosen)
        .into_iter()
        .map(|(r, c)| ExportedCertificate {
            member: c.member,
            steward: *r.signer(),
            seq: r.seq(),
            community: c.community,
            region: c.region,
            not_before_ms: c.not_before_ms,
            not_after_ms: c.not_after_ms,
            hex: hex::encode(r.encode()),
        })
        .collect();
    JsonExport {
        format: EXPORT_FORMAT,
        exported_at_ms,
        node: *node,
        view,
        records: chosen
            .iter()
            .map(|h| ExportedRecord {
                origin: *h.record.signer(),
                seq: h.record.seq(),
                period: h.report.period.to_string(),
                community: h.report.community.clone(),
                hex: hex::encode(h.record.encode()),
            })
            .collect(),
        certificates,
    }
}

type Row = [String; 13];

fn num(n: impl fmt::Display) -> String {
    n.to_string()
}

/// A cell as written to the CSV: text a spreadsheet would run as a formula (it starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, which spreadsheets
/// show as text (OWASP, "CSV Injection"). Community names, regions and cell keys come
/// from other nodes' signed records, so any of them may be hostile; numbers (a negative
/// one included) are left as they are.
pub(crate) fn spreadsheet_safe(cell: String) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// `-12` or `-0.5`: a sign, digits and at most one point (no exponent, no `inf`).
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    !digits.is_empty()
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
}

/// Every data row of the CSV export, in order, handed to `f`, each cell made
/// [`spreadsheet_safe`] (the export writes these rows and its verification compares
/// the file with them, so both see the same cells).
fn rows<E>(
    chosen: &[&HeldReport],
    certificates: &[(&SignedRecord, MembershipCert)],
    view: &NationalView<'_>,
    mut f: impl FnMut(Row) -> Result<(), E>,
) -> Result<(), E> {
    raw_rows(chosen, certificates, view, |row| {
        f(row.map(spreadsheet_safe))
    })
}

fn raw_rows<E>(
    chosen: &[&HeldReport],
    certificates: &[(&SignedRecord, MembershipCert)],
    view: &NationalView<'_>,
    mut f: impl FnMut(Row) -> Result<(), E>,
) -> Result<(), E> {
    for p in &view.periods {
        let period = p.period.to_string();
        for t in &p.totals {
            f([
                "national".into(),
                period.clone(),
                String::new(),
                String::new(),
                t.metric.into(),
                t.dimension.into(),
                t.key.into(),
                t.value.map(num).unwrap_or_default(),
                t.status.as_str().into(),
                num(t.communities_reporting),
                num(t.communities_withheld),
                String::new(),
                String::new(),
            ])?;
        }
    }
    for p in &view.periods {
        let period = p.period.to_string();
        for c in &p.communities {
            let origin = c.origin.to_string();
            let seq = num(c.seq);
            for cell in c.cells.0 {
                let (value, status) = match cell.value {
                    Value::Withheld => (String::new(), "withheld"),
                    v => (v.number().map(num).unwrap_or_default(), "published"),
                };
                f([
                    "community".into(),
                    period.clone(),
                    c.community.into(),
                    c.region.unwrap_or_default().into(),
                    cell.metric.clone(),
                    cell.dimension.clone(),
                    cell.key.clone(),
                    value,
                    status.into(),
                    String::new(),
                    String::new(),
                    origin.clone(),
                    seq.clone(),
                ])?;
            }
        }
    }
    for h in chosen {
        f([
            "record".into(),
            h.report.period.to_string(),
            h.report.community.clone(),
            h.region.clone().unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
            hex::encode(h.record.encode()),
            String::new(),
            String::new(),
            String::new(),
            h.record.signer().to_string(),
            num(h.record.seq()),
        ])?;
    }
    for (r, c) in certificates {
        f([
            "certificate".into(),
            String::new(),
            c.community.clone(),
            c.region.clone(),
            String::new(),
            "steward".into(),
            r.signer().to_string(),
            hex::encode(r.encode()),
            String::new(),
            String::new(),
            String::new(),
            c.member.to_string(),
            num(r.seq()),
        ])?;
    }
    Ok(())
}

/// The CSV export of `view`, with the same records and certificates as [`export_json`].
pub fn export_csv(
    reports: &[HeldReport],
    certificates: &[SignedRecord],
    view: &NationalView<'_>,
) -> String {
    let chosen = contributing(reports, view);
    let certificates = certificates_for(certificates, &chosen);
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory fails only if memory does; the errors are kept to be honest about it.
    let written = out
        .write_record(CSV_COLUMNS)
        .and_then(|()| rows(&chosen, &certificates, view, |row| out.write_record(&row)));
    let bytes = match (written, out.into_inner()) {
        (Ok(()), Ok(bytes)) => bytes,
        (Err(e), _) => panic!("writing CSV to memory: {e}"),
        (_, Err(e)) => panic!("writing CSV to memory: {}", e.error()),
    };
    // Every field is a `&str`, so the output is UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Which format a file was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
}

/// A report an export carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedReport {
    pub origin: PublicKey,
    pub seq: u64,
    pub community: String,
    pub period: String,
}

/// What a verified export holds, for the reader to check against what they expect.
#[derive(Debug, Clone, Serialize)]
pub struct VerifySummary {
    pub format: ExportFormat,
    /// In the file's order (period, community).
    pub reports: Vec<VerifiedReport>,
    /// Community names, sorted.
    pub communities: Vec<String>,
    /// Periods in calendar order.
    pub periods: Vec<String>,
    pub certificates: usize,
    /// The keys that signed the certificates, sorted: compare them with the stewards'
    /// published keys.
    pub stewards: Vec<PublicKey>,
}

impl fmt::Display for VerifySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.format {
            ExportFormat::Json => "JSON",
            ExportFormat::Csv => "CSV",
        };
        writeln!(
            f,
            "{format} export: {} signed reports from {} communities, {} certificates",
            self.reports.len(),
            self.communities.len(),
            self.certificates
        )?;
        writeln!(f, "communities: {}", self.communities.join(", "))?;
        writeln!(f, "periods: {}", self.periods.join(", "))?;
        write!(f, "certificates signed by steward keys:")?;
        for s in &self.stewards {
            write!(f, "\n  {s}")?;
        }
        Ok(())
    }
}

/// Why an export does not verify. Each names the place: a JSON path or a CSV row, with the
/// origin and sequence of the record concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyExportError {
    #[error("not a metrics export: {0}")]
    Unreadable(String),
    #[error("{location}: {reason}")]
    Malformed { location: String, reason: String },
    #[error("{location}: the signature does not verify (the record was changed after signing)")]
    BadSignature { location: String },
    #[error("{location}: not a valid metric report: {reason}")]
    BadReport { location: String, reason: String },
    #[error("{location}: not a valid membership certificate: {reason}")]
    BadCertificate { location: String, reason: String },
    #[error("{location}: signed by {steward}, which is not one of the trusted steward keys")]
    UntrustedSteward {
        location: String,
        steward: PublicKey,
    },
    #[error(
        "the report of origin {origin} seq {seq} has no certificate in the file for its key \
         valid at its time ({timestamp_ms} ms)"
    )]
    NoCertificate {
        origin: PublicKey,
        seq: u64,
        timestamp_ms: u64,
    },
    #[error("{location}: the file has {found}, the signed records give {expected}")]
    Differs {
        location: String,
        found: String,
        expected: String,
    },
}

fn malformed(location: impl Into<String>, reason: impl Into<String>) -> VerifyExportError {
    VerifyExportError::Malformed {
        location: location.into(),
        reason: reason.into(),
    }
}

fn decode_hex_record(location: &str, text: &str) -> Result<SignedRecord, VerifyExportError> {
    let bytes = hex::decode(text).map_err(|e| malformed(location, format!("not hex: {e}")))?;
    let record = SignedRecord::decode(&bytes)
        .map_err(|e| malformed(location, format!("not a signed record: {e}")))?;
    if record.verify().is_err() {
        return Err(VerifyExportError::BadSignature {
            location: location.into(),
        });
    }
    Ok(record)
}

/// Checks the records and certificates of a file and turns them into the inputs of the
/// national view: reports with their regions (from their origins' latest certificates).
fn check_records(
    reports: Vec<(String, SignedRecord)>,
    certificates: Vec<(String, SignedRecord)>,
    trusted: &[PublicKey],
) -> Result<(Vec<HeldReport>, Vec<SignedRecord>), VerifyExportError> {
    let mut certs: Vec<(MembershipCert, SignedRecord)> = Vec::new();
    for (location, record) in certificates {
        if record.kind() != RecordKind::MEMBERSHIP_CERT {
            return Err(VerifyExportError::BadCertificate {
                location,
                reason: format!("a record of kind {}", record.kind()),
            });
        }
        let cert = MembershipCert::decode(record.payload()).map_err(|e| {
            VerifyExportError::BadCertificate {
                location: location.clone(),
                reason: e.to_string(),
            }
        })?;
        if !trusted.is_empty() && !trusted.contains(record.signer()) {
            return Err(VerifyExportError::UntrustedSteward {
                location,
                steward: *record.signer(),
            });
        }
        certs.push((cert, record));
    }
    let cert_records: Vec<SignedRecord> = certs.iter().map(|(_, r)| r.clone()).collect();
    let mut held = Vec::with_capacity(reports.len());
    for (location, record) in reports {
        if record.kind() != RecordKind::METRIC_REPORT {
            return Err(VerifyExportError::BadReport {
                location,
                reason: format!("a record of kind {}", record.kind()),
            });
        }
        let report = MetricReport::decode(record.payload())
            .and_then(|r| r.check().map(|()| r))
            .map_err(|e| VerifyExportError::BadReport {
                location: location.clone(),
                reason: e.to_string(),
            })?;
        let origin = *record.signer();
        let certified = certs
            .iter()
            .any(|(c, _)| c.member == origin && c.valid_at(record.timestamp_ms()));
        if !certified {
            return Err(VerifyExportError::NoCertificate {
                origin,
                seq: record.seq(),
                timestamp_ms: record.timestamp_ms(),
            });
        }
        held.push(HeldReport {
            region: region_of(&cert_records, &origin),
            record,
            report,
        });
    }
    Ok((held, cert_records))
}

fn summary(format: ExportFormat, held: &[HeldReport], certs: &[SignedRecord]) -> VerifySummary {
    let communities: BTreeSet<&str> = held.iter().map(|h| h.report.community.as_str()).collect();
    let periods: BTreeSet<(u16, u8, u8, Period)> = held
        .iter()
        .map(|h| {
            let (a, b, c) = h.report.period.display_order();
            (a, b, c, h.report.period)
        })
        .collect();
    let stewards: BTreeSet<PublicKey> = certs.iter().map(|r| *r.signer()).collect();
    VerifySummary {
        format,
        reports: held
            .iter()
            .map(|h| VerifiedReport {
                origin: *h.record.signer(),
                seq: h.record.seq(),
                community: h.report.community.clone(),
                period: h.report.period.to_string(),
            })
            .collect(),
        communities: communities.into_iter().map(String::from).collect(),
        periods: periods.into_iter().map(|p| p.3.to_string()).collect(),
        certificates: certs.len(),
        stewards: stewards.into_iter().collect(),
    }
}

/// Checks an export offline (JSON if it starts with `{`, else CSV): every record's and
/// certificate's signature, that every report decodes and keeps the report rules, that
/// every origin has a certificate valid when it signed (signed by one of
/// `trusted_stewards`, unless that is empty: then the summary lists the keys to check),
/// and that the file's figures, community tables and record lists are exactly what the
/// records give.
pub fn verify_export(
    bytes: &[u8],
    trusted_stewards: &[PublicKey],
) -> Result<VerifySummary, VerifyExportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|e| VerifyExportError::Unreadable(format!("not UTF-8 text: {e}")))?;
    if text.trim_start().starts_with('{') {
        verify_json(text, trusted_stewards)
    } else {
        verify_csv(text, trusted_stewards)
    }
}

/// The parts of a JSON export read before recomputing; the view is skipped unread.
#[derive(Deserialize)]
struct JsonHead {
    format: Option<String>,
    exported_at_ms: Option<u64>,
    node: Option<String>,
    view: Option<ViewHead>,
    records: Option<Vec<JsonEntry>>,
    certificates: Option<Vec<JsonEntry>>,
}

#[derive(Deserialize)]
struct ViewHead {
    selected: Option<String>,
}

#[derive(Deserialize)]
struct JsonEntry {
    origin: Option<String>,
    member: Option<String>,
    seq: Option<u64>,
    hex: Option<String>,
}

fn verify_json(text: &str, trusted: &[PublicKey]) -> Result<VerifySummary, VerifyExportError> {
    let head: JsonHead = serde_json::from_str(text)
        .map_err(|e| VerifyExportError::Unreadable(format!("not a JSON export: {e}")))?;
    if head.format.as_deref() != Some(EXPORT_FORMAT) {
        return Err(malformed(
            "format",
            format!("expected \"{EXPORT_FORMAT}\", found {:?}", head.format),
        ));
    }
    let entries = |field: &str, list: Option<Vec<JsonEntry>>| {
        let list = list.ok_or_else(|| malformed(field, "missing"))?;
        list.into_iter()
            .enumerate()
            .map(|(i, entry)| {
                let mut location = format!("{field}[{i}]");
                let (who, key) = if field == "records" {
                    ("origin", entry.origin)
                } else {
                    ("member", entry.member)
                };
                if let (Some(k), Some(seq)) = (key, entry.seq) {
                    location.push_str(&format!(" ({who} {k}, seq {seq})"));
                }
                let hex = entry.hex.ok_or_else(|| malformed(&location, "no hex"))?;
                let record = decode_hex_record(&location, &hex)?;
                Ok((location, record))
            })
            .collect::<Result<Vec<_>, VerifyExportError>>()
    };
    let reports = entries("records", head.records)?;
    let certificates = entries("certificates", head.certificates)?;
    let selected: PeriodFilter = head
        .view
        .and_then(|v| v.selected)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| malformed("view.selected", "missing or not a period filter"))?;
    let exported_at_ms = head
        .exported_at_ms
        .ok_or_else(|| malformed("exported_at_ms", "missing"))?;
    let node: PublicKey = head
        .node
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| malformed("node", "missing or not a key"))?;

    let (held, certs) = check_records(reports, certificates, trusted)?;
    let view = national_view(&held, &selected);
    let expected = serde_json::to_string(&export_json(&held, &certs, &view, exported_at_ms, &node))
        .map_err(|e| VerifyExportError::Unreadable(format!("re-encoding the view: {e}")))?;
    // A file as exported is byte for byte what the records give; anything else (another
    // layout, or a change) is compared value by value to accept the one and name the other.
    if text.trim() != expected {
        let file: Json = serde_json::from_str(text)
            .map_err(|e| VerifyExportError::Unreadable(format!("invalid JSON: {e}")))?;
        let expected: Json = serde_json::from_str(&expected)
            .map_err(|e| VerifyExportError::Unreadable(format!("re-reading the view: {e}")))?;
        let mut path = String::new();
        let mut context = Vec::new();
        if let Some((found, expected)) = first_difference(&file, &expected, &mut path, &mut context)
        {
            let location = if context.is_empty() {
                path
            } else {
                format!("{path} ({})", context.join(", "))
            };
            return Err(VerifyExportError::Differs {
                location,
                found,
                expected,
            });
        }
    }
    Ok(summary(ExportFormat::Json, &held, &certs))
}

/// A JSON value in a message: compact, cut at 120 characters.
fn short(v: &Json) -> String {
    let text = v.to_string();
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// What identifies an object of the view or record lists, for messages.
fn describe(obj: &serde_json::Map<String, Json>) -> Option<String> {
    let s = |k: &str| obj.get(k).and_then(Json::as_str);
    let mut parts = Vec::new();
    if let Some(p) = s("period") {
        parts.push(format!("period {p}"));
    }
    if let Some(c) = s("community") {
        parts.push(format!("community {c}"));
    }
    if let Some(m) = s("metric").or_else(|| s("goal")) {
        match (s("dimension"), s("key")) {
            (Some(d), Some(k)) if !d.is_empty() => parts.push(format!("{m} {d}={k}")),
            _ => parts.push(m.to_string()),
        }
    }
    if let (Some(o), Some(q)) = (s("origin").or_else(|| s("member")), obj.get("seq")) {
        parts.push(format!("origin {o} seq {q}"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The first place where `found` differs from `expected` (path in `path`, what identifies
/// the enclosing objects in `context`), as (found, expected) texts.
fn first_difference(
    found: &Json,
    expected: &Json,
    path: &mut String,
    context: &mut Vec<String>,
) -> Option<(String, String)> {
    match (found, expected) {
        (Json::Object(f), Json::Object(e)) => {
            let described = describe(e).map(|d| context.push(d)).is_some();
            for (k, ev) in e {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match f.get(k) {
                    None => return Some(("no such field".into(), short(ev))),
                    Some(fv) => {
                        if let Some(d) = first_difference(fv, ev, path, context) {
                            return Some(d);
                        }
                    }
                }
                path.truncate(len);
            }
            if let Some((k, fv)) = f.iter().find(|(k, _)| !e.contains_key(*k)) {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                return Some((short(fv), "no such field".into()));
            }
            if described {
                context.pop();
            }
            None
        }
        (Json::Array(f), Json::Array(e)) => {
            for (i, (fv, ev)) in f.iter().zip(e).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if let Some(d) = first_difference(fv, ev, path, context) {
                    return Some(d);
                }
                path.truncate(len);
            }
            match f.len().cmp(&e.len()) {
                std::cmp::Ordering::Equal => None,
                std::cmp::Ordering::Less => {
                    let i = f.len();
                    path.push_str(&format!("[{i}]"));
                    if let Some(d) = e[i].as_object().and_then(describe) {
                        context.push(d);
                    }
                    Some((format!("nothing ({} entries)", f.len()), short(&e[i])))
                }
                std::cmp::Ordering::Greater => {
                    let i = e.len();
                    path.push_str(&format!("[{i}]"));
                    Some((short(&f[i]), format!("nothing ({} entries)", e.len())))
                }
            }
        }
        _ if found == expected => None,
        _ => Some((short(found), short(expected))),
    }
}

fn describe_row(row: &csv::StringRecord) -> String {
    let get = |i: usize| row.get(i).unwrap_or("");
    let mut text = get(0).to_string();
    for i in [1, 2] {
        if !get(i).is_empty() {
            text.push_str(&format!(" {}", get(i)));
        }
    }
    if !get(4).is_empty() {
        text.push_str(&format!(" {}", get(4)));
        if !get(5).is_empty() {
            text.push_str(&format!(" {}={}", get(5), get(6)));
        }
    }
    if !get(11).is_empty() {
        text.push_str(&format!(" origin {} seq {}", get(11), get(12)));
    }
    text
}

fn verify_csv(text: &str, trusted: &[PublicKey]) -> Result<VerifySummary, VerifyExportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut file: Vec<csv::StringRecord> = Vec::new();
    for (i, row) in reader.records().enumerate() {
        file.push(row.map_err(|e| malformed(format!("row {}", i + 1), e.to_string()))?);
    }
    match file.first() {
        Some(header) if header.iter().eq(CSV_COLUMNS) => {}
        Some(_) => {
            return Err(malformed(
                "row 1",
                format!("the header is not {}", CSV_COLUMNS.join(",")),
            ))
        }
        None => return Err(VerifyExportError::Unreadable("an empty file".into())),
    }
    let mut reports = Vec::new();
    let mut certificates = Vec::new();
    for (i, row) in file.iter().enumerate().skip(1) {
        let section = row.get(0).unwrap_or("");
        if section == "record" || section == "certificate" {
            let location = format!("row {} ({})", i + 1, describe_row(row));
            let record = decode_hex_record(&location, row.get(7).unwrap_or(""))?;
            if section == "record" {
                reports.push((location, record));
            } else {
                certificates.push((location, record));
            }
        }
    }
    let (held, certs) = check_records(reports, certificates, trusted)?;
    let view = national_view(&held, &PeriodFilter::All);
    let chosen = contributing(&held, &view);
    let cert_list = certificates_for(&certs, &chosen);
    let mut n = 1;
    rows(&chosen, &cert_list, &view, |expected| {
        let row_number = n + 1;
        let Some(found) = file.get(n) else {
            return Err(VerifyExportError::Differs {
                location: format!("row {row_number}"),
                found: "no such row (the file ends)".into(),
                expected: csv_line(&expected),
            });
        };
        n += 1;
        for (col, name) in CSV_COLUMNS.iter().enumerate() {
            let f = found.get(col);
            if f != Some(expected[col].as_str()) {
                return Err(VerifyExportError::Differs {
                    location: format!("row {row_number} ({}), column {name}", describe_row(found)),
                    found: f
                        .map_or(Cow::Borrowed("no such column"), |f| {
                            Cow::Owned(format!("\"{}\"", cut(f)))
                        })
                        .into_owned(),
                    expected: format!("\"{}\"", cut(&expected[col])),
                });
            }
        }
        if found.len() != CSV_COLUMNS.len() {
            return Err(VerifyExportError::Differs {
                location: format!("row {row_number} ({})", describe_row(found)),
                found: format!("{} columns", found.len()),
                expected: format!("{} columns", CSV_COLUMNS.len()),
            });
        }
        Ok(())
    })?;
    if let Some(extra) = file.get(n) {
        return Err(VerifyExportError::Differs {
            location: format!("row {} ({})", n + 1, describe_row(extra)),
            found: "a row".into(),
            expected: "no more rows".into(),
        });
    }
    Ok(summary(ExportFormat::Csv, &held, &certs))
}

fn cut(text: &str) -> Cow<'_, str> {
    if text.chars().count() > 80 {
        let head: String = text.chars().take(77).collect();
        Cow::Owned(format!("{head}..."))
    } else {
        Cow::Borrowed(text)
    }
}

fn csv_line(row: &Row) -> String {
    row.iter()
        .map(|f| cut(f).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::metrics::national::tests::{certificate, key, network, T0};

    fn json_bytes(filter: PeriodFilter) -> Vec<u8> {
        let (reports, certificates) = network();
        let view = national_view(&reports, &filter);
        serde_json::to_vec(&export_json(
            &reports,
            &certificates,
            &view,
            T0 + 99,
            &key(1).public(),
        ))
        .unwrap()
    }

    fn csv_text() -> String {
        let (reports, certificates) = network();
        let view = national_view(&reports, &PeriodFilter::All);
        export_csv(&reports, &certificates, &view)
    }

    fn differs(result: Result<VerifySummary, VerifyExportError>) -> String {
        match result {
            Err(e @ VerifyExportError::Differs { .. }) => e.to_string(),
            other => panic!("expected a difference, got {other:?}"),
        }
    }

    /// Changes the last digit of the first number after `after` in `text`.
    fn bump_digit_after(text: &str, after: &str) -> String {
        let start = text.find(after).unwrap() + after.len();
        let mut bytes = text.as_bytes().to_vec();
        let mut i = start;
        while !bytes[i].is_ascii_digit() {
            i += 1;
        }
        while bytes[i + 1].is_ascii_digit() {
            i += 1;
        }
        bytes[i] = if bytes[i] == b'9' { b'8' } else { bytes[i] + 1 };
        String::from_utf8(bytes).unwrap()
    }

    /// Changes one hex digit in the middle of the first `hex` value after `after`.
    fn flip_hex_after(text: &str, after: &str, marker: &str) -> String {
        let start = text.find(after).unwrap();
        let hex_at = start + text[start..].find(marker).unwrap() + marker.len();
        let i = hex_at + 200;
        let mut bytes = text.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_json_export_verifies_and_carries_its_records() {
        let bytes = json_bytes(PeriodFilter::All);
        let summary = verify_export(&bytes, &[]).unwrap();
        assert_eq!(summary.format, ExportFormat::Json);
        assert_eq!(
            summary.reports.len(),
            6,
            "the superseded report is not exported"
        );
        assert_eq!(summary.communities, ["Akron", "Birmingham", "Chicago"]);
        assert_eq!(summary.periods, ["2026-03", "2026"]);
        assert_eq!(summary.stewards, [key(9).public()]);
        assert!(summary.to_string().contains(&key(9).public().to_string()));
        let json: Json = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["format"], EXPORT_FORMAT);
        assert_eq!(json["records"].as_array().unwrap().len(), 6);
        assert_eq!(json["certificates"].as_array().unwrap().len(), 3);
        let record = &json["records"][0];
        let decoded =
            SignedRecord::decode(&hex::decode(record["hex"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(record["origin"], decoded.signer().to_string());
        assert_eq!(record["seq"], decoded.seq());
        // Another layout of the same values (a pretty-printed copy) verifies too.
        let pretty = serde_json::to_vec_pretty(&json).unwrap();
        assert_eq!(verify_export(&pretty, &[]).unwrap().reports.len(), 6);
        // Trusting the steward that signed: fine.
        assert!(verify_export(&bytes, &[key(9).public()]).is_ok());
        // A filtered view verifies too.
        let year = json_bytes(PeriodFilter::Year(2026));
        assert_eq!(
            verify_export(&year, &[]).unwrap().periods,
            ["2026-03", "2026"]
        );
        let march = json_bytes(PeriodFilter::Period(crate::metrics::national::tests::MARCH));
        assert_eq!(verify_export(&march, &[]).unwrap().reports.len(), 3);
    }

    #[test]
    fn a_changed_digit_in_a_json_figure_fails() {
        let text = String::from_utf8(json_bytes(PeriodFilter::All)).unwrap();
        // The national total of placements in March: 125.
        let anchor = r#""metric":"placed","dimension":"","key":"","unit":"people","value":"#;
        assert!(text.contains(&format!("{anchor}125")), "{text}");
        let tampered = bump_digit_after(&text, anchor);
        let message = differs(verify_export(tampered.as_bytes(), &[]));
        assert!(message.contains("view.periods[0].totals"), "{message}");
        assert!(message.contains("period 2026-03"), "{message}");
        assert!(message.contains("the file has 126"), "{message}");
        // A community's figure.
        let tampered = bump_digit_after(&text, r#""value":52"#);
        let message = differs(verify_export(tampered.as_bytes(), &[]));
        assert!(message.contains("communities[0].cells"), "{message}");
        // A goal's share.
        let tampered = bump_digit_after(&text, r#""share_reached":0."#);
        assert!(verify_export(tampered.as_bytes(), &[]).is_err());
    }

    #[test]
    fn a_changed_hex_digit_in_a_json_record_fails() {
        let text = String::from_utf8(json_bytes(PeriodFilter::All)).unwrap();
        let tampered = flip_hex_after(&text, r#""records""#, r#""hex":""#);
        match verify_export(tampered.as_bytes(), &[]) {
            Err(VerifyExportError::BadSignature { location }) => {
                assert!(location.starts_with("records[0] (origin "), "{location}")
            }
            other => panic!("{other:?}"),
        }
        let tampered = flip_hex_after(&text, r#""certificates""#, r#""hex":""#);
        assert!(verify_export(tampered.as_bytes(), &[]).is_err());
    }

    #[test]
    fn a_csv_export_verifies() {
        let text = csv_text();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(CSV_COLUMNS.join(",").as_str()));
        assert!(text.contains("\nnational,2026-03,,,placed,,,125,complete,3,0,,\n"));
        assert!(text.contains("\nnational,2026-03,,,applied,,,210,partial,3,1,,\n"));
        assert!(text.contains("\nnational,2026-03,,,placed.median_wage,,,,not_added,3,1,,\n"));
        assert!(text.contains(&format!(
            "\ncommunity,2026-03,Birmingham,AL,placed,soc,15-1232,,withheld,,,{},2\n",
            key(2).public()
        )));
        assert_eq!(text.lines().filter(|l| l.starts_with("record,")).count(), 6);
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("certificate,"))
                .count(),
            3
        );
        let summary = verify_export(text.as_bytes(), &[key(9).public()]).unwrap();
        assert_eq!(summary.format, ExportFormat::Csv);
        assert_eq!(summary.reports.len(), 6);
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_made_text() {
        use crate::metrics::national::tests::{cell, held, MARCH};
        use techhire_protocol::Value::People;
        let (member, steward) = (key(5), key(9));
        let hostile = "=HYPERLINK(\"http://x.example/\",\"open\")";
        let reports = vec![held(
            &member,
            1,
            MARCH,
            1,
            hostile,
            "\tTX",
            vec![
                cell("applied", "", "", People(120)),
                cell("placed", "", "", People(40)),
                cell("placed", "soc", "-2+3+cmd|' /C calc'!A0", People(40)),
            ],
        )];
        let certificates = vec![certificate(&steward, &member, "@SUM(A1)+cmd|calc", "\tTX")];
        let view = national_view(&reports, &PeriodFilter::All);
        let text = export_csv(&reports, &certificates, &view);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let mut seen_quoted = 0;
        for row in reader.records() {
            for field in row.unwrap().iter() {
                if field.starts_with('\'') {
                    seen_quoted += 1;
                }
                let live = field.starts_with(['=', '+', '@', '\t', '\r'])
                    || (field.starts_with('-') && !is_plain_number(field));
                assert!(!live, "a live formula in the CSV: {field:?}\n{text}");
            }
        }
        assert!(seen_quoted >= 3, "{text}");
        assert!(text.contains("'=HYPERLINK"), "{text}");
        // The file still verifies: the check compares with the same neutralised cells.
        verify_export(text.as_bytes(), &[steward.public()]).unwrap();
        // Plain text and numbers are left alone.
        assert_eq!(spreadsheet_safe("Akron".into()), "Akron");
        assert_eq!(spreadsheet_safe("-12".into()), "-12");
        assert_eq!(spreadsheet_safe("-1+2".into()), "'-1+2");
        assert_eq!(spreadsheet_safe("\r=1".into()), "'\r=1");
        assert_eq!(spreadsheet_safe("-inf".into()), "'-inf");
    }

    #[test]
    fn a_changed_digit_in_a_csv_figure_fails() {
        let text = csv_text();
        let tampered = bump_digit_after(&text, "\nnational,2026-03,,,placed,,,");
        let message = differs(verify_export(tampered.as_bytes(), &[]));
        assert!(message.contains("column value"), "{message}");
        assert!(message.contains("national 2026-03 placed"), "{message}");
        assert!(
            message.contains("\"126\"") && message.contains("\"125\""),
            "{message}"
        );
        // A community row.
        let tampered = bump_digit_after(&text, "\ncommunity,2026-03,Akron,OH,applied,,,");
        let message = differs(verify_export(tampered.as_bytes(), &[]));
        assert!(
            message.contains("community 2026-03 Akron applied"),
            "{message}"
        );
        // A count beside a total.
        let tampered = bump_digit_after(&text, "\nnational,2026-03,,,applied,,,210,partial,3,");
        assert!(differs(verify_export(tampered.as_bytes(), &[])).contains("communities_withheld"));
        // A missing row.
        let missing: String = text
            .lines()
            .filter(|l| !l.starts_with("community,2026-03,Chicago,IL,placed,soc,"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(verify_export(missing.as_bytes(), &[]).is_err());
        // An extra row.
        let extra = format!("{text}national,2026-03,,,placed,,,1,complete,3,0,,\n");
        assert!(differs(verify_export(extra.as_bytes(), &[])).contains("no more rows"));
    }

    #[test]
    fn a_changed_hex_digit_in_a_csv_record_fails() {
        let text = csv_text();
        let tampered = flip_hex_after(&text, "\nrecord,", ",,,");
        match verify_export(tampered.as_bytes(), &[]) {
            Err(VerifyExportError::BadSignature { location }) => {
                assert!(
                    location.contains("record 2026-03 Akron origin"),
                    "{location}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn certificates_must_be_present_and_trusted() {
        let untrusted = key(8).public();
        match verify_export(csv_text().as_bytes(), &[untrusted]) {
            Err(VerifyExportError::UntrustedSteward { steward, .. }) => {
                assert_eq!(steward, key(9).public())
            }
            other => panic!("{other:?}"),
        }
        match verify_export(&json_bytes(PeriodFilter::All), &[untrusted]) {
            Err(VerifyExportError::UntrustedSteward { location, .. }) => {
                assert!(location.starts_with("certificates["), "{location}")
            }
            other => panic!("{other:?}"),
        }
        // A report whose origin has no certificate in the file.
        let (reports, mut certificates) = network();
        certificates
            .retain(|c| MembershipCert::decode(c.payload()).unwrap().member != key(3).public());
        let view = national_view(&reports, &PeriodFilter::All);
        let text = export_csv(&reports, &certificates, &view);
        assert!(matches!(
            verify_export(text.as_bytes(), &[]),
            Err(VerifyExportError::NoCertificate { origin, .. }) if origin == key(3).public()
        ));
        // A certificate by some other key, for a member of the federation, is listed as
        // such in the summary (or refused when the stewards are given).
        let (reports, mut certificates) = network();
        certificates.push(certificate(&key(7), &key(1), "Akron", "OH"));
        let view = national_view(&reports, &PeriodFilter::All);
        let text = export_csv(&reports, &certificates, &view);
        let summary = verify_export(text.as_bytes(), &[]).unwrap();
        assert_eq!(summary.stewards.len(), 2);
        assert!(verify_export(text.as_bytes(), &[key(9).public()]).is_err());
    }

    #[test]
    fn other_files_are_refused() {
        assert!(verify_export(b"", &[]).is_err());
        assert!(verify_export(b"a,b\n1,2\n", &[]).is_err());
        assert!(verify_export(b"{\"format\": \"other\"}", &[]).is_err());
        assert!(verify_export(b"{ not json", &[]).is_err());
        assert!(verify_export(&[0xff, 0xfe], &[]).is_err());
    }

    #[test]
    fn regions_come_from_the_latest_certificate() {
        let steward = key(9);
        let member = key(1);
        let old = certificate(&steward, &member, "Akron", "OH");
        let newer = MembershipCert {
            member: member.public(),
            community: "Akron".into(),
            region: "Ohio".into(),
            not_before_ms: T0,
            not_after_ms: T0 + 400 * 24 * 3600 * 1000,
        }
        .sign(&steward, T0 + 5);
        assert_eq!(
            region_of(&[newer.clone(), old.clone()], &member.public()).as_deref(),
            Some("Ohio")
        );
        assert_eq!(
            region_of(&[old, newer], &member.public()).as_deref(),
            Some("Ohio")
        );
        assert_eq!(region_of(&[], &member.public()), None);
    }
}
