//! Network faults on a real link. The terminal side and the central side each run in a
//! network namespace this test creates (and removes, whatever happens), joined by a veth
//! pair (`10.77.N.1/30` and `10.77.N.2/30`) and nothing else. Each side is this test
//! binary run again as a child process inside its namespace: the central side is the
//! reference central service behind a fault-injecting TCP proxy (`NetworkLink`, in the
//! central namespace), the terminal side is the real outbox sender and client sending
//! qualification checks (about 117 KiB each, the face in base64). Each test is one case:
//!
//! - a partition (`ip link set vt down`, up again seconds later) while a submission is
//!   being uploaded (the terminal's link rate-limited with `tc tbf`, so the upload takes
//!   half a second), once shorter and once longer than the terminal's request timeout;
//! - a partition after central committed a submission but before its answer reached the
//!   terminal (the proxy keeps the answer back until the link is down, then sends it
//!   into the dead link), short and long;
//! - latency per chunk, link stalls (3 s and 10 s) and resets (RST) mid-request and
//!   mid-answer, from the proxy.
//!
//! Every case ends with every submission stored by central exactly once and the
//! terminal's outbox empty. Namespaces need root: where `ip netns add` fails (or with
//! `KIOSK_NETNS=0`) the test says so and runs the same faults on loopback, with the
//! proxy cutting the connection where the link would go down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hardware_tests::NetworkLink;
use hardware_tests::child::{self, ChildProcess};
use kiosk::central_api::{CentralClient, DeviceIdentity, Timeouts};
use kiosk::outbox::sender::{self, Attempt, OutboxHandle};
use kiosk::outbox::{ItemKind, Limits, Outbox};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CENTRAL_CHILD: &str = "netns_central_child";
const TERMINAL_CHILD: &str = "netns_terminal_child";
/// Terminal bytes on a connection (from arming) at which a fault fires: a quarter of
/// the way into a qualification check, far above anything else the terminal sends.
const INTO_REQUEST: usize = 24 * 1024;
/// The terminal's request timeout: partitions and stalls are chosen shorter (the same
/// connection resumes) and longer (the terminal gives up and sends again).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);
const SHORT: Duration = Duration::from_secs(2);
const LONG: Duration = Duration::from_secs(10);
/// Generous limit for anything that must happen.
const HANG: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------------
// The two children.

/// The central side: the reference central service on `NF_LISTEN` (an IP; port chosen
/// freely), a fault proxy in front of it on the same IP, the terminal enrolled (identity
/// saved in `NF_DIR/kiosk`). Says `ready <proxy address> <central address>`, then takes
/// commands for the proxy until its stdin closes.
#[test]
#[ignore = "run by the network fault tests as their central side"]
fn netns_central_child() {
    let dir = PathBuf::from(std::env::var("NF_DIR").expect("run by a network fault test"));
    let ip: IpAddr = std::env::var("NF_LISTEN").unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let central =
            simulation::ReferenceCentral::start_on(&dir.join("central"), 20, SocketAddr::new(ip, 0)).await.unwrap();
        let central_addr = central.server.local_addr();
        let link = Arc::new(NetworkLink::start_between(SocketAddr::new(ip, 0), central_addr).await.unwrap());
        let identity = central.enroll(&central.url(), "netns-faults").await.unwrap();
        std::fs::create_dir_all(dir.join("kiosk")).unwrap();
        identity.save(&dir.join("kiosk")).unwrap();
        child::say(&format!("ready {} {central_addr}", link.addr));
        let mut commands = child::commands();
        while let Some(command) = commands.recv().await {
            let words: Vec<&str> = command.split_whitespace().collect();
            let number = |i: usize| words.get(i).and_then(|w| w.parse::<u64>().ok()).unwrap_or_default();
            let bytes = number(1) as usize;
            // One-shot faults say `fired ...` once injected; the rest say `ok` at once.
            match words.first().copied().unwrap_or_default() {
                "watch" => link.watch_for(bytes),
                "delay" => link.delay_answers_after(bytes),
                "reset_request" => link.reset_mid_request(bytes),
                "reset_answer" => link.reset_mid_answer(bytes),
                "stall" => link.stall_after(bytes, Duration::from_millis(number(2))),
                "cut_mid_request" => {
                    link.cut_mid_request(bytes);
                    let link = link.clone();
                    tokio::spawn(async move {
                        let cut = link.mid_request_cut().await;
                        child::say(&format!("fired {} {cut:?}", now_us()));
                    });
                    continue;
                }
                "replays" => {
                    child::say(&format!("replays {}", replays(&central).await));
                    continue;
                }
                simple => {
                    match simple {
                        "release" => link.release_answers(),
                        "cut" => link.cut(),
                        "restore" => link.restore(),
                        "latency" => link.set_latency(Duration::from_millis(number(1))),
                        other => panic!("unknown command {other:?}"),
                    }
                    child::say("ok");
                    continue;
                }
            }
            let link = link.clone();
            tokio::spawn(async move {
                let injected = link.injected().await;
                child::say(&format!("fired {} {injected:?}", now_us()));
            });
        }
        central.shutdown().await;
    });
}

/// Microseconds since the epoch: both sides read the same clock, so the parent can
/// tell which request was on the wire when a fault fired.
fn now_us() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or_default()
}

/// The real client, saying `sending <key> <time>` as each attempt begins.
struct Announced(CentralClient);

impl sender::Deliver for Announced {
    async fn deliver(&self, item: &kiosk::outbox::OutboxItem) -> Attempt {
        child::say(&format!("sending {} {}", item.key, now_us()));
        self.0.post_item(item).await
    }
}

/// Central's count of answers replayed from an idempotency record.
async fn replays(central: &simulation::ReferenceCentral) -> u64 {
    let ca = reqwest::Certificate::from_pem(central.server.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let url = format!("{}{}", central.url(), contract::paths::METRICS);
    let text = http
        .get(url)
        .bearer_auth(central.server.metrics_token())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        // `central_idempotent_replays_total{instance="…"} 3`: every series names its instance.
        .find_map(|l| l.strip_prefix("central_idempotent_replays_total{").and_then(|rest| rest.rsplit_once(' ')))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no replay counter in {text}"))
}

/// The terminal side: `NF_ITEMS` qualification checks into the outbox (enrolled as
/// `NF_DIR/kiosk` says), the real sender and client to `NF_URL`. Says `key <key>` for
/// each, then `sending <key> <time>` as each attempt begins and `accepted <key>` /
/// `retry <key> <why>` as it ends, and `done` once the outbox is empty.
#[test]
#[ignore = "run by the network fault tests as their terminal side"]
fn netns_terminal_child() {
    let dir = PathBuf::from(std::env::var("NF_DIR").expect("run by a network fault test"));
    let url = std::env::var("NF_URL").unwrap();
    let items: usize = std::env::var("NF_ITEMS").unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let kiosk = dir.join("kiosk");
        let identity = DeviceIdentity::load(&kiosk).unwrap().unwrap();
        let timeouts = Timeouts { connect: Duration::from_secs(3), request: REQUEST_TIMEOUT };
        let client = CentralClient::new(&url, &identity, timeouts).unwrap();
        let handle = OutboxHandle::new(Outbox::open(&kiosk.join("outbox"), Limits::default()).unwrap());
        let body = hardware_tests::qualification_check_body();
        for _ in 0..items {
            let key = handle
                .lock()
                .enqueue(ItemKind::Submission, contract::paths::QUALIFICATION_CHECKS, &body, sender::now_ms())
                .unwrap();
            child::say(&format!("key {key}"));
        }
        let mut settled = handle.settled.subscribe();
        tokio::spawn(async move {
            while let Ok(s) = settled.recv().await {
                match s.attempt {
                    Attempt::Accepted { .. } => child::say(&format!("accepted {}", s.key)),
                    Attempt::Retry { reason, .. } => {
                        child::say(&format!("retry {} {}", s.key, reason.replace(['\n', '\r'], " ")));
                    }
                    other => child::say(&format!("other {} {other:?}", s.key)),
                }
            }
        });
        let mut commands = child::commands();
        let backoff = kiosk::outbox::backoff::Backoff { base: Duration::from_millis(50), cap: Duration::from_secs(1) };
        let stop = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(sender::run(handle.clone(), Announced(client), backoff, stop));
        loop {
            if handle.lock().stats().unwrap().depth == 0 {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
                // The parent is gone.
                None = commands.recv() => std::process::exit(2),
            }
        }
        // The last `accepted` is said after the outbox recorded it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        child::say("done");
    });
}

// ---------------------------------------------------------------------------------------
// The namespaces.

/// Runs an `ip` or `tc` command line (words split at spaces); the error says what failed.
fn run(command: &str) -> Result<(), String> {
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or_default();
    let out = Command::new(program).args(words).output().map_err(|e| format!("`{command}`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`{command}`: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

const NETNS_PREFIX: &str = "kiosk-nf-";

/// Two network namespaces joined by a veth pair, removed on drop.
struct Netns {
    terminal: String,
    central: String,
    central_ip: IpAddr,
}

impl Netns {
    /// `subnet` picks `10.77.<subnet>.0/30` (namespaces are private: runs side by side
    /// do not clash). With `rate`, the terminal's link sends at that rate (`tc tbf`).
    fn create(case: &str, subnet: u8, rate: Option<&str>) -> Result<Self, String> {
        if std::env::var("KIOSK_NETNS").is_ok_and(|v| v == "0") {
            return Err("KIOSK_NETNS=0".into());
        }
        remove_stale_namespaces();
        let pid = std::process::id();
        let net = Self {
            terminal: format!("{NETNS_PREFIX}{pid}-{case}-t"),
            central: format!("{NETNS_PREFIX}{pid}-{case}-c"),
            central_ip: IpAddr::from([10, 77, subnet, 2]),
        };
        let (t, c) = (&net.terminal, &net.central);
        // From here on, an error drops `net`, which removes what was made.
        run(&format!("ip netns add {t}"))?;
        run(&format!("ip netns add {c}"))?;
        run(&format!("ip link add vt netns {t} type veth peer name vc netns {c}"))?;
        run(&format!("ip -n {t} addr add 10.77.{subnet}.1/30 dev vt"))?;
        run(&format!("ip -n {c} addr add 10.77.{subnet}.2/30 dev vc"))?;
        for (ns, dev) in [(t, "vt"), (c, "vc")] {
            run(&format!("ip -n {ns} link set lo up"))?;
            run(&format!("ip -n {ns} link set {dev} up"))?;
        }
        if let Some(rate) = rate {
            run(&format!("tc -n {t} qdisc add dev vt root tbf rate {rate} burst 16kb latency 200ms"))?;
        }
        Ok(net)
    }

    /// The terminal's end of the link, down or up.
    fn link(&self, up: bool) {
        run(&format!("ip -n {} link set vt {}", self.terminal, if up { "up" } else { "down" })).unwrap();
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // The veth pair goes with the namespaces.
        for ns in [&self.terminal, &self.central] {
            let _ = run(&format!("ip netns del {ns}"));
        }
    }
}

/// Namespaces left by runs that were killed before they could clean up.
fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else { return };
    for name in String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_whitespace().next()) {
        let pid = name.strip_prefix(NETNS_PREFIX).and_then(|rest| rest.split('-').next());
        if let Some(pid) = pid
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = run(&format!("ip netns del {name}"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// One case: the two sides, the faults, the verdict.

/// A fault the proxy injected: when, and what it says it did.
struct Fired {
    at_us: u128,
    what: String,
}

impl std::fmt::Display for Fired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

struct Case {
    title: &'static str,
    /// Children first: they go (SIGKILL) before their namespaces.
    central: ChildProcess,
    terminal: Option<ChildProcess>,
    net: Option<Netns>,
    work: tempfile::TempDir,
    proxy: String,
    /// Lines of central's side already read.
    cursor: usize,
    started: Instant,
    faults: Vec<String>,
}

impl Case {
    async fn start(title: &'static str, case: &str, subnet: u8, rate: Option<&str>) -> Self {
        let net = match Netns::create(case, subnet, rate) {
            Ok(net) => Some(net),
            Err(why) => {
                println!("network namespaces unavailable ({why}): running the proxy faults on loopback instead");
                None
            }
        };
        let work = tempfile::tempdir().unwrap();
        let ip = net.as_ref().map_or(IpAddr::from([127, 0, 0, 1]), |n| n.central_ip);
        let central = ChildProcess::spawn(
            CENTRAL_CHILD,
            net.as_ref().map(|n| n.central.as_str()),
            &[("NF_DIR", work.path().display().to_string()), ("NF_LISTEN", ip.to_string())],
        )
        .unwrap();
        let mut cursor = 0;
        let ready = central.next(&mut cursor, "ready", HANG).await.unwrap();
        let proxy = ready.split_whitespace().next().unwrap().to_owned();
        Self { title, central, terminal: None, net, work, proxy, cursor, started: Instant::now(), faults: Vec::new() }
    }

    fn mode(&self) -> &'static str {
        if self.net.is_some() { "veth between namespaces" } else { "loopback" }
    }

    /// Starts the terminal side with `items` submissions.
    fn send(&mut self, items: usize) {
        let env = [
            ("NF_DIR", self.work.path().display().to_string()),
            ("NF_URL", format!("https://{}", self.proxy)),
            ("NF_ITEMS", items.to_string()),
        ];
        let ns = self.net.as_ref().map(|n| n.terminal.as_str());
        self.terminal = Some(ChildProcess::spawn(TERMINAL_CHILD, ns, &env).unwrap());
        self.started = Instant::now();
    }

    fn terminal(&self) -> &ChildProcess {
        self.terminal.as_ref().unwrap()
    }

    fn accepted(&self) -> usize {
        self.terminal().count("accepted")
    }

    /// The submission that was on the wire when a fault fired: the last attempt begun before.
    async fn hit(&self, fired: &Fired) -> String {
        // Lines said after the fault are told apart by their time: waiting only makes
        // sure the terminal's line about the attempt has been read.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let said = self.terminal().said();
        let mut sending = said.iter().filter_map(|l| l.strip_prefix("sending ")?.split_once(' '));
        let hit = sending.rfind(|(_, at)| at.parse::<u128>().is_ok_and(|at| at <= fired.at_us));
        hit.expect("a fault fired before the terminal sent anything").0.to_owned()
    }

    /// Waits until the terminal has had `key` accepted; returns its failed attempts.
    async fn delivered(&self, key: &str) -> usize {
        let deadline = Instant::now() + HANG;
        while !self.terminal().said().iter().any(|l| l.strip_prefix("accepted ") == Some(key)) {
            assert!(Instant::now() < deadline, "{}: {key} never accepted", self.title);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.terminal().said().iter().filter(|l| l.strip_prefix("retry ").is_some_and(|r| r.starts_with(key))).count()
    }

    /// Waits until the terminal has had `n` submissions accepted.
    async fn accepted_at_least(&self, n: usize) {
        let deadline = Instant::now() + HANG;
        while self.accepted() < n {
            assert!(Instant::now() < deadline, "{}: only {} accepted, waiting for {n}", self.title, self.accepted());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Arms a one-shot fault in the proxy and waits for it to fire.
    async fn arm(&mut self, command: &str) -> Fired {
        let fired = self.proxy(command, "fired").await;
        let (at, what) = fired.split_once(' ').unwrap();
        Fired { at_us: at.parse().unwrap(), what: what.to_owned() }
    }

    /// Sends the proxy a command and waits for its answer, `word` (`ok`, `fired`).
    async fn proxy(&mut self, command: &str, word: &str) -> String {
        self.central.send(command).await.unwrap();
        let answer = self.central.next(&mut self.cursor, word, HANG).await;
        answer.unwrap_or_else(|e| {
            let sent = self.terminal.as_ref().map(|t| (t.count("accepted"), t.count("retry")));
            panic!("{}: {command}: {e}; faults so far: {:?}; (accepted, retries): {sent:?}", self.title, self.faults)
        })
    }

    /// Once the link is down: lets what was already said arrive, then returns the
    /// submissions the terminal had accepted and the applications central had stored.
    async fn settle(&self) -> (usize, i64) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        (self.accepted(), self.stored())
    }

    /// Applications central has stored, read from its database.
    fn stored(&self) -> i64 {
        let db = rusqlite::Connection::open(self.work.path().join("central").join("central.db")).unwrap();
        db.query_row("SELECT COUNT(*) FROM applications", [], |r| r.get(0)).unwrap()
    }

    /// The link between the two sides goes down (or comes back): the veth, or where
    /// there are no namespaces, the proxy cutting every connection.
    async fn partition(&mut self, up: bool) {
        match &self.net {
            Some(net) => net.link(up),
            None => {
                self.proxy(if up { "restore" } else { "cut" }, "ok").await;
            }
        }
    }

    /// Waits for the terminal to finish, stops central, and checks: every submission
    /// stored exactly once, every idempotency record done, the outbox empty, the
    /// terminal holding central's answer for each. Prints the case's figures.
    async fn finish(mut self) {
        let mut cursor = 0;
        self.terminal().next(&mut cursor, "done", HANG).await.unwrap();
        let terminal = self.terminal.as_mut().unwrap();
        terminal.close_stdin();
        assert!(terminal.wait(HANG).await.unwrap().success(), "the terminal side failed");
        self.central.send("replays").await.unwrap();
        let replays: u64 = self.central.next(&mut self.cursor, "replays", HANG).await.unwrap().parse().unwrap();
        self.central.close_stdin();
        assert!(self.central.wait(HANG).await.unwrap().success(), "the central side failed");

        let said = self.terminal().said();
        let keys: Vec<&str> = said.iter().filter_map(|l| l.strip_prefix("key ")).collect();
        let retries = said.iter().filter(|l| l.starts_with("retry ")).count();
        let db = rusqlite::Connection::open(self.work.path().join("central").join("central.db")).unwrap();
        let outbox = Outbox::open(&self.work.path().join("kiosk").join("outbox"), Limits::default()).unwrap();
        assert_eq!(outbox.stats().unwrap().depth, 0, "the terminal's outbox must end empty");
        let (mut lost, mut doubled) = (0, 0);
        for key in &keys {
            let stored: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM applications WHERE client_reference = ?1",
                    [contract::client_reference(key)],
                    |r| r.get(0),
                )
                .unwrap();
            match stored {
                0 => lost += 1,
                1 => {}
                _ => doubled += 1,
            }
            let (status, body) = outbox.response(key).unwrap().unwrap_or_else(|| panic!("{key}: no answer recorded"));
            assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        }
        assert_eq!((lost, doubled), (0, 0), "{}: submissions lost, doubled", self.title);
        let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM applications"), keys.len() as i64, "applications nobody sent");
        assert_eq!(count("SELECT COUNT(*) FROM idempotency WHERE state != 'done'"), 0, "reservations left behind");
        println!(
            "{} [{}]: {} submissions, faults: {}; {retries} failed attempts retried, {replays} answers replayed by \
             central; {:.1} s; lost {lost}, doubled {doubled}",
            self.title,
            self.mode(),
            keys.len(),
            self.faults.join(", "),
            self.started.elapsed().as_secs_f64(),
        );
    }
}

// ---------------------------------------------------------------------------------------
// The cases.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_mid_upload_loses_and_doubles_nothing() {
    // 2 Mbit/s: a check takes about half a second to upload.
    let mut case = Case::start("partition mid-request", "a", 1, Some("2mbit")).await;
    case.send(6);
    for (i, pause) in [SHORT, LONG].into_iter().enumerate() {
        case.accepted_at_least(1 + 2 * i).await;
        let fired = if case.net.is_some() {
            let fired = case.arm(&format!("watch {INTO_REQUEST}")).await;
            case.partition(false).await;
            fired
        } else {
            case.arm(&format!("cut_mid_request {INTO_REQUEST}")).await
        };
        let down = Instant::now();
        let hit = case.hit(&fired).await;
        let (accepted, stored) = case.settle().await;
        tokio::time::sleep(pause.saturating_sub(down.elapsed())).await;
        // Half a request is not an application: nothing arrived while the link was down.
        assert_eq!(case.stored(), stored, "central stored something while the link was down");
        assert_eq!(case.accepted(), accepted, "the terminal was answered while the link was down");
        case.partition(true).await;
        let failed = case.delivered(&hit).await;
        case.faults.push(format!(
            "partition of {:.0} s {INTO_REQUEST} bytes into an upload ({fired}): delivered {:.1} s after it began, \
             {failed} failed attempts",
            pause.as_secs_f64(),
            down.elapsed().as_secs_f64()
        ));
    }
    case.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_after_central_committed_loses_and_doubles_nothing() {
    let mut case = Case::start("partition mid-response", "b", 2, None).await;
    case.send(6);
    for (i, pause) in [SHORT, LONG].into_iter().enumerate() {
        case.accepted_at_least(1 + 2 * i).await;
        let fired = case.arm(&format!("delay {INTO_REQUEST}")).await;
        let hit = case.hit(&fired).await;
        case.partition(false).await;
        // The answer goes out into the dead link (or with the connection the proxy cut).
        case.proxy("release", "ok").await;
        let down = Instant::now();
        let (accepted, stored) = case.settle().await;
        // Central had committed the submission whose answer was held.
        assert_eq!(stored, accepted as i64 + 1, "central had not committed the request whose answer was held");
        tokio::time::sleep(pause.saturating_sub(down.elapsed())).await;
        assert_eq!(case.accepted(), accepted, "the terminal was answered while the link was down");
        case.partition(true).await;
        let failed = case.delivered(&hit).await;
        case.faults.push(format!(
            "partition of {:.0} s with the answer in flight ({fired}): delivered {:.1} s after it began, \
             {failed} failed attempts",
            pause.as_secs_f64(),
            down.elapsed().as_secs_f64()
        ));
    }
    case.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_stalls_and_resets_lose_and_double_nothing() {
    let mut case = Case::start("proxy delay, stalls and resets", "c", 3, None).await;
    case.send(20);
    case.accepted_at_least(1).await;

    case.proxy("latency 150", "ok").await;
    let (accepted, began) = (case.accepted(), Instant::now());
    case.accepted_at_least(accepted + 2).await;
    case.proxy("latency 0", "ok").await;
    case.faults.push(format!("150 ms per chunk either way: 2 submissions in {:.1} s", began.elapsed().as_secs_f64()));

    for (command, what) in [
        (format!("stall {INTO_REQUEST} 3000"), "stall of 3 s mid-request"),
        (format!("stall {INTO_REQUEST} 10000"), "stall of 10 s mid-request"),
        (format!("reset_request {INTO_REQUEST}"), "RST mid-request"),
        (format!("reset_request {INTO_REQUEST}"), "RST mid-request"),
        (format!("reset_answer {INTO_REQUEST}"), "RST mid-answer"),
        (format!("reset_answer {INTO_REQUEST}"), "RST mid-answer"),
    ] {
        let fired = case.arm(&command).await;
        let began = Instant::now();
        let hit = case.hit(&fired).await;
        let failed = case.delivered(&hit).await;
        case.faults.push(format!(
            "{what} ({fired}): delivered {:.1} s after, {failed} failed attempts",
            began.elapsed().as_secs_f64()
        ));
    }
    case.finish().await;
}
