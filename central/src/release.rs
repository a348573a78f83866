//! Staged software updates, central's side: the offline key tools (`central release
//! keygen`, `sign`), publishing a signed package, rollouts (which terminals are
//! offered which version), the two terminal endpoints (`GET /v1/updates/offer`,
//! `GET /v1/updates/packages/{sha256}`) and what terminals report about installing.
//!
//! Trust runs from the release key, which operations keep offline: central stores and
//! serves packages and their signed manifests but never holds the private key, so a
//! compromised central cannot make a terminal install anything. The terminal checks
//! the signature and the bytes itself; central checks them too when it is given the
//! public key (`release_key`), only to refuse a mistake at publication.

// Early-return refusals are whole HTTP responses; boxing them buys nothing here.
#![allow(clippy::result_large_err)]

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use anyhow::Context as _;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use sha2::Digest as _;

use crate::api::{self, ProblemType, ReleaseManifest, SignedRelease, TelemetryEvent, UpdateOffer, update_event};
use crate::config::ServerConfig;
use crate::http::{self, Shared};
use crate::pki::PeerIdentity;
use crate::service::ApiError;
use crate::state::AppState;
use crate::store::{
    ROLLOUT_ACTIVE, ROLLOUT_PAUSED, ReleaseRecord, Rollout, Store, StoreResult, TerminalRow, UpdateOutcome,
};

/// The private key file `central release keygen` writes (PKCS#8 PEM, mode 0600).
pub const RELEASE_KEY_FILE: &str = "release.key";
/// The public key file: standard base64 of the raw 32 bytes, as terminals configure it.
pub const RELEASE_PUB_FILE: &str = "release.pub";
/// Media type of a served package.
pub const PACKAGE_CONTENT_TYPE: &str = "application/vnd.debian.binary-package";
/// The terminal mode between `update.started` and the update's outcome.
pub const MODE_UPDATING: &str = "updating";
/// Longest reason kept from a terminal's update event (as alert details).
const REASON_MAX: usize = 200;
/// Largest signed manifest file read (a manifest is a few hundred bytes).
const MANIFEST_FILE_MAX: u64 = 64 * 1024;

/// Reads a release public key as terminals configure it: standard base64 of 32 bytes.
pub fn parse_public_key(text: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| "must be the standard base64 of the release key's 32 bytes (release.pub)".to_owned())?;
    let bytes: [u8; 32] = raw.try_into().map_err(|_| "must be 32 bytes, base64-encoded (release.pub)".to_owned())?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| "is not an Ed25519 public key".to_owned())
}

/// The public key as terminals configure it (`[updates] release_key`).
pub fn public_key_base64(key: &ed25519_dalek::VerifyingKey) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
}

/// `central release keygen --out DIR`, run on the offline machine: a new release key
/// in `DIR/release.key` (mode 0600) and its public half in `DIR/release.pub`. Refuses
/// to overwrite either: replacing the key means re-configuring every terminal.
pub fn keygen(out: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let (key_path, pub_path) = (out.join(RELEASE_KEY_FILE), out.join(RELEASE_PUB_FILE));
    for p in [&key_path, &pub_path] {
        anyhow::ensure!(
            !p.exists(),
            "{} exists: refusing to overwrite a release key (terminals trust the one they have)",
            p.display()
        );
    }
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the key: {e}"))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_path)
        .with_context(|| format!("cannot create {}", key_path.display()))?;
    f.write_all(pem.as_bytes())?;
    f.sync_all()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&pub_path)
        .with_context(|| format!("cannot create {}", pub_path.display()))?;
    writeln!(f, "{}", public_key_base64(&key.verifying_key()))?;
    f.sync_all()?;
    Ok((key_path, pub_path))
}

/// Reads a release key written by [`keygen`].
pub fn load_signing_key(path: &Path) -> anyhow::Result<ed25519_dalek::SigningKey> {
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    let pem = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{} is not an Ed25519 PKCS#8 PEM key: {e}", path.display()))
}

/// SHA-256 (lower-case hex) and size of a file, read in chunks.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// Package, version and architecture of a `.deb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFields {
    pub package: String,
    pub version: String,
    pub architecture: String,
}

/// Reads [`PackageFields`] with `dpkg-deb --field`.
pub fn dpkg_fields(deb: &Path) -> anyhow::Result<PackageFields> {
    let out = match std::process::Command::new("dpkg-deb")
        .arg("--field")
        .arg(deb)
        .args(["Package", "Version", "Architecture"])
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "dpkg-deb is not installed (Debian package dpkg): install it, or give --package, --version and --architecture"
        ),
        Err(e) => anyhow::bail!("cannot run dpkg-deb: {e}"),
    };
    anyhow::ensure!(
        out.status.success(),
        "dpkg-deb cannot read {}: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_owned()))
            .ok_or_else(|| anyhow::anyhow!("{} has no {name} field", deb.display()))
    };
    Ok(PackageFields { package: field("Package")?, version: field("Version")?, architecture: field("Architecture")? })
}

/// Where `central release sign` writes the signed manifest of `deb`.
pub fn manifest_path(deb: &Path) -> PathBuf {
    let mut name = deb.as_os_str().to_owned();
    name.push(".release.json");
    PathBuf::from(name)
}

/// `central release sign`, run on the offline machine: the manifest of `deb` (its
/// SHA-256 and size, and `fields` or what `dpkg-deb` reads), signed with the key at
/// `key`, written to `<deb>.release.json`. Returns that path and the signed release.
pub fn sign_package(key: &Path, deb: &Path, fields: Option<PackageFields>) -> anyhow::Result<(PathBuf, SignedRelease)> {
    let key = load_signing_key(key)?;
    let fields = match fields {
        Some(f) => f,
        None => dpkg_fields(deb)?,
    };
    let (sha256, size) = sha256_file(deb).with_context(|| format!("cannot read {}", deb.display()))?;
    let manifest = ReleaseManifest {
        package: fields.package,
        version: fields.version,
        architecture: fields.architecture,
        sha256,
        size,
    };
    manifest.check_fields()?;
    let signed = api::sign_release(manifest, &key);
    let path = manifest_path(deb);
    let json = serde_json::to_vec_pretty(&signed)?;
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    Ok((path, signed))
}

/// What `central release publish` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub record: ReleaseRecord,
    /// The signature was checked against the configured `release_key`.
    pub signature_checked: bool,
    /// The same package was published before; nothing changed.
    pub already: bool,
}

/// `central release publish PKG.deb PKG.deb.release.json`: checks the manifest's
/// fields, that the file is the one it describes and (with `release_key` configured)
/// its signature; then stores the file as `<releases dir>/<sha256>.deb` (a temporary
/// file renamed, so a download never sees half of it) and records the release.
pub fn publish(
    config: &ServerConfig,
    store: &dyn Store,
    deb: &Path,
    manifest: &Path,
    now: i64,
) -> anyhow::Result<Published> {
    let meta = std::fs::metadata(manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    anyhow::ensure!(meta.len() <= MANIFEST_FILE_MAX, "{} is too large to be a signed manifest", manifest.display());
    let text = std::fs::read(manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    let signed: SignedRelease = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a signed release manifest (central release sign)", manifest.display()))?;
    let m = &signed.manifest;
    m.check_fields().context("the manifest is refused")?;
    let (sha256, size) = sha256_file(deb).with_context(|| format!("cannot read {}", deb.display()))?;
    api::check_package(m, &sha256, size)
        .with_context(|| format!("{} is not the package its manifest describes", deb.display()))?;
    let signature_checked = match &config.release_key {
        Some(key) => {
            let key = parse_public_key(key).map_err(|p| anyhow::anyhow!("invalid setting `release_key`: {p}"))?;
            api::verify_release(&signed, &key, &m.package, &m.architecture)
                .context("the signature does not verify with the configured release_key: not published")?;
            true
        }
        None => false,
    };
    let size = i64::try_from(size).context("package too large")?;
    if let Some(existing) = store.release(&m.version, &m.architecture)? {
        if existing.package == m.package {
            anyhow::ensure!(
                existing.sha256 == sha256,
                "{} {} for {} was published before with another package (SHA-256 {}): publish a new version instead",
                m.package,
                m.version,
                m.architecture,
                existing.sha256
            );
            return Ok(Published { record: existing, signature_checked, already: true });
        }
    }
    store_package(&config.releases_dir(), deb, &sha256)?;
    let record = ReleaseRecord {
        package: m.package.clone(),
        version: m.version.clone(),
        architecture: m.architecture.clone(),
        sha256,
        size,
        signed_release_json: serde_json::to_string(&signed)?,
        published_at: now,
    };
    let inserted = store.insert_release(&record)?;
    Ok(Published { record, signature_checked, already: !inserted })
}

/// Copies `deb` to `<dir>/<sha256>.deb` through a temporary file and a rename.
fn store_package(dir: &Path, deb: &Path, sha256: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the releases directory {}", dir.display()))?;
    let target = dir.join(format!("{sha256}.deb"));
    if target.exists() && sha256_file(&target).is_ok_and(|(h, _)| h == sha256) {
        return Ok(target);
    }
    let tmp = dir.join(format!(".{sha256}.deb.{}.tmp", hex::encode(rand::random::<[u8; 6]>())));
    let copied = std::fs::copy(deb, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &target));
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot store the package in {}", dir.display()));
    }
    // The rename is durable once the directory is.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(target)
}

/// Whom a rollout offers its version to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This share of the fleet (1..=100), chosen by [`bucket`].
    Percent(i64),
    /// Exactly these terminals.
    Devices(Vec<String>),
}

/// A terminal's place (0..100) in rollout `rollout_id`: a hash of both, so it never
/// changes for the rollout (raising the percentage only adds terminals) and differs
/// between rollouts (the same terminals are not always first).
pub fn bucket(rollout_id: i64, device_id: &str) -> u8 {
    let digest = sha2::Sha256::digest(format!("kiosk-rollout-v1\n{rollout_id}\n{device_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

/// Whether `rollout` targets `device_id`.
pub fn targets(rollout: &Rollout, device_id: &str) -> bool {
    match (&rollout.devices, rollout.percent) {
        (Some(list), _) => list.iter().any(|d| d == device_id),
        (None, Some(p)) => i64::from(bucket(rollout.id, device_id)) < p,
        (None, None) => false,
    }
}

/// A Debian architecture as a query parameter: `arm64`, `amd64`, `armhf`.
pub fn valid_architecture(a: &str) -> bool {
    !a.is_empty()
        && a.len() <= 64
        && a.starts_with(|c: char| c.is_ascii_alphanumeric())
        && a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// 64 lower-case hex characters: the only package names that reach the filesystem.
pub fn valid_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `central rollout start`: the release must be published; a rollout for the same
/// architecture that is active or paused is superseded.
pub fn start_rollout(
    store: &dyn Store,
    version: &str,
    architecture: &str,
    target: &Target,
    now: i64,
) -> anyhow::Result<i64> {
    anyhow::ensure!(valid_architecture(architecture), "invalid setting `architecture`: {architecture:?} (e.g. arm64)");
    anyhow::ensure!(
        store.release(version, architecture)?.is_some(),
        "{version} for {architecture} is not published: `central release publish` it first"
    );
    let id = match target {
        Target::Percent(p) => {
            anyhow::ensure!((1..=100).contains(p), "invalid setting `percent`: {p} (1 to 100)");
            store.start_rollout(version, architecture, Some(*p), None, now)?
        }
        Target::Devices(list) => {
            anyhow::ensure!(!list.is_empty(), "invalid setting `devices`: name at least one terminal");
            for d in list {
                anyhow::ensure!(
                    !d.is_empty() && d.len() <= 128 && !d.contains(char::is_whitespace),
                    "invalid setting `devices`: {d:?} is not a device id"
                );
            }
            store.start_rollout(version, architecture, None, Some(list), now)?
        }
    };
    Ok(id)
}

/// Pauses (`pause`) or resumes an active or paused rollout. A superseded rollout is
/// over: start a new one instead.
pub fn set_paused(store: &dyn Store, id: i64, pause: bool, now: i64) -> anyhow::Result<()> {
    let (from, to) = if pause { (ROLLOUT_ACTIVE, ROLLOUT_PAUSED) } else { (ROLLOUT_PAUSED, ROLLOUT_ACTIVE) };
    if store.set_rollout_state(id, from, to, now)? {
        return Ok(());
    }
    match store.rollout(id)? {
        None => anyhow::bail!("no rollout {id}"),
        Some(r) if r.state == to => Ok(()),
        Some(r) => anyhow::bail!(
            "rollout {id} is {}: only a {from} rollout can be {}",
            r.state,
            if pause { "paused" } else { "resumed" }
        ),
    }
}

/// `central rollout widen ID --percent N`: raises a percentage rollout's share. Only
/// up: every terminal chosen before stays chosen (see [`bucket`]).
pub fn widen(store: &dyn Store, id: i64, percent: i64, now: i64) -> anyhow::Result<()> {
    anyhow::ensure!((1..=100).contains(&percent), "invalid setting `percent`: {percent} (1 to 100)");
    if store.widen_rollout(id, percent, now)? {
        return Ok(());
    }
    match store.rollout(id)? {
        None => anyhow::bail!("no rollout {id}"),
        Some(r) if r.percent.is_none() => {
            anyhow::bail!("rollout {id} names its terminals: start a new rollout instead")
        }
        Some(r) if r.state != ROLLOUT_ACTIVE && r.state != ROLLOUT_PAUSED => {
            anyhow::bail!("rollout {id} is {}", r.state)
        }
        Some(r) => anyhow::bail!(
            "rollout {id} is at {} % already: a rollout only widens (start a new one to choose again)",
            r.percent.unwrap_or(0)
        ),
    }
}

/// The target in words: `25 %` or the named terminals.
pub fn target_text(r: &Rollout) -> String {
    match (&r.devices, r.percent) {
        (Some(list), _) => list.join(", "),
        (None, Some(p)) => format!("{p} %"),
        (None, None) => "nobody".to_owned(),
    }
}

/// The version a terminal last said it runs: its latest heartbeat's, else the one it
/// enrolled with.
pub fn reported_version(t: &TerminalRow) -> String {
    t.heartbeat_json
        .as_deref()
        .and_then(|j| serde_json::from_str::<api::Heartbeat>(j).ok())
        .map_or_else(|| t.device.software_version.clone(), |h| h.software_version)
}

/// The offer for `device_id` on `architecture`, if any: an active rollout targets it,
/// it does not already run the version, and it has not reported an outcome for it (a
/// terminal that installed, rolled back or refused a version is not offered it again).
pub fn offer_for(store: &dyn Store, device_id: &str, architecture: &str) -> Result<Option<UpdateOffer>, ApiError> {
    let Some(rollout) = store.active_rollout(architecture)? else { return Ok(None) };
    if !targets(&rollout, device_id) {
        return Ok(None);
    }
    let running = store.terminal(device_id)?.map(|t| reported_version(&t));
    if running.as_deref() == Some(rollout.version.as_str()) {
        return Ok(None);
    }
    if store.update_outcome(device_id, &rollout.version)?.is_some() {
        return Ok(None);
    }
    let Some(release) = store.release(&rollout.version, architecture)? else {
        tracing::error!(rollout = rollout.id, version = rollout.version, "an active rollout's release is missing");
        return Ok(None);
    };
    let signed: SignedRelease = serde_json::from_str(&release.signed_release_json)
        .map_err(|e| ApiError::Internal(format!("stored release {} {}: {e}", release.version, release.architecture)))?;
    Ok(Some(UpdateOffer {
        rollout_id: rollout.id,
        release: signed,
        download_path: format!("{}/{}", api::paths::UPDATE_PACKAGES, release.sha256),
    }))
}

#[derive(Debug, Deserialize)]
pub struct OfferQuery {
    architecture: String,
}

/// `GET /v1/updates/offer?architecture=…`: 200 with the offer, or 204.
pub async fn offer(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    query: Result<axum::extract::Query<OfferQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let device = match http::require_device_async(&state, &peer.map(|p| p.0).unwrap_or_default()).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let architecture = match query {
        Ok(axum::extract::Query(q)) if valid_architecture(&q.architecture) => q.architecture,
        _ => {
            return http::problem_response(
                &ProblemType::MalformedRequest
                    .problem("architecture must be the terminal's Debian architecture, e.g. ?architecture=arm64"),
            );
        }
    };
    let st = state.clone();
    let found = tokio::task::spawn_blocking(move || offer_for(st.store.as_ref(), &device.device_id, &architecture))
        .await
        .unwrap_or_else(|e| Err(ApiError::Internal(e.to_string())));
    match found {
        Ok(Some(offer)) => (StatusCode::OK, axum::Json(offer)).into_response(),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => http::problem_response(&http::error_problem(&e)),
    }
}

fn package_not_found() -> Response {
    http::problem_response(&ProblemType::NotFound.problem("no published package has this SHA-256"))
}

/// `GET /v1/updates/packages/{sha256}`: a published package's bytes, streamed from its
/// file. Only a validated 64-hex name of a published release reaches the filesystem.
pub async fn package(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    sha256: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    if let Err(r) = http::require_device_async(&state, &peer.map(|p| p.0).unwrap_or_default()).await {
        return r;
    }
    let sha256 = match sha256 {
        Ok(axum::extract::Path(s)) if valid_sha256(&s) => s,
        _ => return package_not_found(),
    };
    let st = state.clone();
    let key = sha256.clone();
    match tokio::task::spawn_blocking(move || st.store.release_by_sha256(&key)).await {
        Ok(Ok(Some(_))) => {}
        Ok(Ok(None)) => return package_not_found(),
        Ok(Err(e)) => return http::problem_response(&http::error_problem(&e.into())),
        Err(e) => return http::problem_response(&http::error_problem(&ApiError::Internal(e.to_string()))),
    }
    let path = state.config.releases_dir().join(format!("{sha256}.deb"));
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "a published package's file cannot be opened (is the releases directory shared by every instance?)");
            return package_not_found();
        }
    };
    let size = match file.metadata().await {
        Ok(m) => m.len(),
        Err(e) => return http::problem_response(&http::error_problem(&ApiError::Internal(e.to_string()))),
    };
    let body = FileBody { file, remaining: size, buf: vec![0; 64 * 1024] };
    (
        [(header::CONTENT_TYPE, PACKAGE_CONTENT_TYPE.to_owned()), (header::CONTENT_LENGTH, size.to_string())],
        Body::new(body),
    )
        .into_response()
}

/// A file sent in chunks as it is read, never whole in memory.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: Vec<u8>,
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        use tokio::io::AsyncRead as _;
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining).unwrap_or(usize::MAX).min(this.buf.len());
        let mut read = tokio::io::ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the package file shrank while it was sent",
            )))),
            Poll::Ready(Ok(())) => {
                let chunk = Bytes::copy_from_slice(read.filled());
                this.remaining -= chunk.len() as u64;
                Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.remaining)
    }
}

/// What a terminal's update event means for the fleet view: `update.started` shows it
/// as updating; an outcome is recorded (so the version is not offered again), the
/// updating mode ends, and a rollback or a refused package opens an alert naming the
/// terminal, with the event's detail ("version: reason"). Returns the alert opened.
pub fn apply_update_event(
    state: &AppState,
    device_id: &str,
    e: &TelemetryEvent,
    now: i64,
) -> Result<Option<&'static str>, ApiError> {
    let at = e.at.unix_timestamp();
    let (outcome, alert_kind) = match e.kind.as_str() {
        update_event::STARTED => {
            state.store.set_terminal_mode(device_id, Some(MODE_UPDATING), at)?;
            return Ok(None);
        }
        update_event::INSTALLED => ("installed", None),
        update_event::ROLLED_BACK => ("rolled_back", Some(crate::telemetry::alert::UPDATE_ROLLED_BACK)),
        update_event::REFUSED => ("refused", Some(crate::telemetry::alert::UPDATE_REFUSED)),
        _ => return Ok(None),
    };
    let detail = e.detail.as_deref().map(|d| crate::audit::truncate(d, REASON_MAX));
    if let Some(d) = &detail {
        let (version, reason) = api::parse_update_detail(d);
        if !version.is_empty() && version.len() <= 64 {
            state.store.record_update_outcome(&UpdateOutcome {
                device_id: device_id.to_owned(),
                version: version.to_owned(),
                outcome: outcome.to_owned(),
                reason: reason.map(str::to_owned),
                at,
            })?;
        }
    }
    if state.store.terminal(device_id)?.is_some_and(|t| t.mode.as_deref() == Some(MODE_UPDATING)) {
        state.store.set_terminal_mode(device_id, None, at)?;
    }
    if let Some(kind) = alert_kind {
        let detail = detail.unwrap_or_else(|| format!("{} without a detail", e.kind));
        if state.store.open_alert(device_id, kind, &detail, now)? {
            tracing::warn!(device_id, kind, detail, "alert opened");
        }
    }
    Ok(alert_kind)
}

/// One rollout as the versions view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutView {
    pub rollout: Rollout,
    /// Active terminals the rollout's rule selects (central does not know a terminal's
    /// architecture until it asks, so a percentage counts across architectures).
    pub targeted: usize,
    /// Of those, the ones whose latest heartbeat reports the rollout's version.
    pub running: usize,
    pub installed: usize,
    pub rolled_back: usize,
    pub refused: usize,
    /// Rolled-back and refused outcomes, newest first, with their reasons.
    pub problems: Vec<UpdateOutcome>,
}

/// The newest `limit` rollouts with their counts.
pub fn rollout_views(store: &dyn Store, terminals: &[TerminalRow], limit: usize) -> StoreResult<Vec<RolloutView>> {
    let active: Vec<&TerminalRow> = terminals.iter().filter(|t| t.device.revoked_at.is_none()).collect();
    let mut out = Vec::new();
    for rollout in store.rollouts()?.into_iter().take(limit) {
        let outcomes = store.update_outcomes(&rollout.version)?;
        let chosen: Vec<&&TerminalRow> = active.iter().filter(|t| targets(&rollout, &t.device.device_id)).collect();
        let count = |o: &str| outcomes.iter().filter(|x| x.outcome == o).count();
        out.push(RolloutView {
            targeted: chosen.len(),
            running: chosen.iter().filter(|t| reported_version(t) == rollout.version).count(),
            installed: count("installed"),
            rolled_back: count("rolled_back"),
            refused: count("refused"),
            problems: outcomes.iter().filter(|o| o.outcome != "installed").cloned().collect(),
            rollout,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentage_rollout_is_stable_and_raising_it_only_adds_terminals() {
        let ids: Vec<String> = (0..2000).map(|i| format!("KT-{i:05}")).collect();
        let mut r = Rollout {
            id: 7,
            version: "0.2.0".into(),
            architecture: "arm64".into(),
            percent: Some(10),
            devices: None,
            state: ROLLOUT_ACTIVE.into(),
            created_at: 0,
            updated_at: 0,
        };
        let mut previous: Vec<&String> = Vec::new();
        for p in [1, 10, 25, 50, 100] {
            r.percent = Some(p);
            let chosen: Vec<&String> = ids.iter().filter(|d| targets(&r, d)).collect();
            assert_eq!(chosen, ids.iter().filter(|d| targets(&r, d)).collect::<Vec<_>>(), "stable");
            assert!(previous.iter().all(|d| chosen.contains(d)), "{p} % keeps everyone chosen before");
            let share = chosen.len() as f64 / ids.len() as f64 * 100.0;
            assert!((share - p as f64).abs() < 4.0, "{p} % chose {share:.1} %");
            previous = chosen;
        }
        assert_eq!(previous.len(), ids.len(), "100 % is everyone");
        r.id = 8;
        r.percent = Some(10);
        let other: Vec<&String> = ids.iter().filter(|d| targets(&r, d)).collect();
        r.id = 7;
        let first: Vec<&String> = ids.iter().filter(|d| targets(&r, d)).collect();
        assert_ne!(other, first, "another rollout picks other terminals first");
    }

    #[test]
    fn only_64_hex_names_and_debian_architectures_pass() {
        assert!(valid_sha256(&"ab".repeat(32)));
        for bad in ["../../etc/passwd", &"AB".repeat(32), &"ab".repeat(33), "", &format!("{}.deb", "a".repeat(60))] {
            assert!(!valid_sha256(bad), "{bad}");
        }
        assert!(valid_architecture("arm64") && valid_architecture("amd64"));
        for bad in ["", "ARM64", "arm64/../x", "-arm", &"a".repeat(65)] {
            assert!(!valid_architecture(bad), "{bad}");
        }
    }

    #[test]
    fn public_keys_round_trip_as_terminals_configure_them() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let text = public_key_base64(&key.verifying_key());
        assert_eq!(parse_public_key(&format!("{text}\n")), Ok(key.verifying_key()));
        assert!(parse_public_key("not base64!").is_err());
        assert!(parse_public_key("AAAA").is_err());
    }
}
