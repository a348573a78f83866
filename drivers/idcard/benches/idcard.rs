//! Decoder throughput: `30 01` (1295-byte) and `30 10` (2321-byte) replies, as frames
//! decoded per second, and the full reply -> Card parse.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use idcard::Card;
use idcard::frame::{CardBlocks, Decoder, Reply, Status};
use idcard::sim::load_cards;
use std::hint::black_box;

fn reply_bytes(fingerprint: Option<usize>) -> Vec<u8> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cards.toml")).unwrap_or_default();
    let card = load_cards(&text).ok().and_then(|c| c.into_iter().next());
    let (text, photo) = card.map(|c| (c.text_block(), c.photo())).unwrap_or_else(|| (vec![0x20; 256], vec![0; 1024]));
    let blocks = CardBlocks { text, photo, fingerprint: fingerprint.map(|n| vec![0x46; n]) };
    Reply::new(Status::Ok, blocks.encode()).encode().unwrap_or_default()
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    for (name, bytes) in [("30_01", reply_bytes(None)), ("30_10", reply_bytes(Some(1024)))] {
        let fingerprint = name == "30_10";
        // As it arrives from a USB-serial bridge: 64-byte reads.
        group.bench_function(format!("frame_{name}"), |b| {
            let mut decoder = Decoder::new();
            b.iter(|| {
                for chunk in black_box(&bytes).chunks(64) {
                    decoder.push(chunk);
                }
                black_box(decoder.next_event())
            })
        });
        group.bench_function(format!("card_{name}"), |b| {
            let mut decoder = Decoder::new();
            b.iter(|| {
                decoder.push(black_box(&bytes));
                let frame = decoder.next_event().and_then(Result::ok)?;
                let reply = Reply::from_frame(frame)?;
                let blocks = CardBlocks::parse(&reply.data, fingerprint).ok()?;
                Card::parse(&blocks.text, blocks.photo, blocks.fingerprint).ok()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
