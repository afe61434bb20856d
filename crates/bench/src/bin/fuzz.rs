//! `tsunagi-fuzz`: the stable-toolchain smoke run of every fuzz target in `crates/twilio/fuzz` (the same
//! target bodies, included from `crates/twilio/fuzz/src/lib.rs`), for CI machines without nightly or
//! cargo-fuzz. Per target: the built-in seeds, every file of `crates/twilio/fuzz/seeds/<target>/` and
//! `corpus/<target>/` (cargo-fuzz's grown corpus, when present), then mutations of those (bit flips, byte
//! inserts and deletes, truncation, splicing, interesting bytes) and random inputs from a seeded PRNG until the
//! target's time budget is spent. No coverage guidance: this catches regressions on known shapes and shallow
//! bugs; the coverage-guided runs are `cargo fuzz run` (crates/bench/README.md).
//!
//! A panic (a failed round-trip assertion included) is a finding: the input is written to
//! `target/fuzz-findings/<target>-<n>` and the run exits 1 after the other targets ran.
//!
//! `tsunagi-fuzz [--seconds-per-target S] [--seed N] [--dir crates/twilio/fuzz] [TARGET…]`

#[allow(dead_code)]
#[path = "../../../twilio/fuzz/src/lib.rs"]
mod targets;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// xorshift64*: reproducible inputs from `--seed`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\r\n",
    b"%",
    b"&",
    b"=",
    b"<",
    b">",
    b"/",
    b"null",
    b"true",
    b"-1",
    b"18446744073709551616",
    b"1e999",
    b"\xe3\x81\x82",
    b"\xed\xa0\x80",
];

/// One mutation of `input` (or a splice with `other`).
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, (rng.next() & 0xff) as u8);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = 1 + rng.below(8.min(v.len() - i));
                v.drain(i..i + n);
            }
            3 => {
                let n = rng.below(v.len() + 1);
                v.truncate(n);
            }
            4 if !other.is_empty() => {
                let cut = rng.below(v.len() + 1);
                let from = rng.below(other.len());
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            5 => {
                let i = rng.below(v.len() + 1);
                let tok = INTERESTING[rng.below(INTERESTING.len())];
                v.splice(i..i, tok.iter().copied());
            }
            _ if !v.is_empty() => {
                // Duplicate a chunk (deep nesting, repeated fields).
                let i = rng.below(v.len());
                let n = 1 + rng.below(32.min(v.len() - i));
                let chunk = v[i..i + n].to_vec();
                v.splice(i..i, chunk);
            }
            _ => {}
        }
    }
    v.truncate(1 << 16);
    v
}

fn random(rng: &mut Rng) -> Vec<u8> {
    let n = rng.below(256);
    (0..n).map(|_| (rng.next() & 0xff) as u8).collect()
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = rd
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.path(), std::fs::read(e.path()).ok()?)))
        .collect();
    out.sort();
    out.into_iter().map(|(_, b)| b).collect()
}

struct Outcome {
    runs: u64,
    corpus: usize,
    finding: Option<Vec<u8>>,
}

fn run_target(f: fn(&[u8]), pool: &[Vec<u8>], budget: Duration, rng: &mut Rng) -> Outcome {
    let start = Instant::now();
    let mut runs = 0u64;
    let attempt = |input: &[u8]| std::panic::catch_unwind(|| f(input)).is_ok();
    for input in pool {
        runs += 1;
        if !attempt(input) {
            return Outcome {
                runs,
                corpus: pool.len(),
                finding: Some(input.clone()),
            };
        }
    }
    while start.elapsed() < budget {
        for _ in 0..64 {
            let input = if pool.is_empty() || rng.below(8) == 0 {
                random(rng)
            } else {
                let a = &pool[rng.below(pool.len())];
                let b = &pool[rng.below(pool.len())];
                mutate(rng, a, b)
            };
            runs += 1;
            if !attempt(&input) {
                return Outcome {
                    runs,
                    corpus: pool.len(),
                    finding: Some(input),
                };
            }
        }
    }
    Outcome {
        runs,
        corpus: pool.len(),
        finding: None,
    }
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut secs, mut seed, mut dir) = (
        10.0f64,
        0x0074_7375_6e61_6769_u64,
        PathBuf::from("crates/twilio/fuzz"),
    );
    let mut only: Vec<String> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds-per-target" => {
                secs = args.next().and_then(|v| v.parse().ok()).unwrap_or(secs)
            }
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            "--dir" => dir = args.next().map(PathBuf::from).unwrap_or(dir),
            "-h" | "--help" => {
                println!("tsunagi-fuzz [--seconds-per-target S] [--seed N] [--dir crates/twilio/fuzz] [TARGET…]");
                return std::process::ExitCode::SUCCESS;
            }
            t => only.push(t.to_owned()),
        }
    }
    // Findings are reported below; the default hook would print every caught panic.
    std::panic::set_hook(Box::new(|_| {}));
    let findings_dir = PathBuf::from("target/fuzz-findings");
    let mut failed = Vec::new();
    for (name, f) in targets::TARGETS {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let mut pool = targets::seeds(name);
        pool.extend(files(&dir.join("seeds").join(name)));
        pool.extend(files(&dir.join("corpus").join(name)));
        let mut rng = Rng(seed ^ (name.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let t0 = Instant::now();
        let out = run_target(*f, &pool, Duration::from_secs_f64(secs), &mut rng);
        let status = match &out.finding {
            None => "ok".to_owned(),
            Some(input) => {
                let _ = std::fs::create_dir_all(&findings_dir);
                let path = findings_dir.join(format!("{name}-{}", failed.len()));
                let _ = std::fs::write(&path, input);
                failed.push(*name);
                format!("PANIC, input saved to {}", path.display())
            }
        };
        println!(
            "{name:18} {:>9} runs in {:5.1} s ({} corpus inputs): {status}",
            out.runs,
            t0.elapsed().as_secs_f64(),
            out.corpus
        );
    }
    if failed.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("tsunagi-fuzz: findings in {}", failed.join(", "));
        std::process::ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boom(data: &[u8]) {
        assert!(!data.windows(4).any(|w| w == b"boom"), "found it");
    }

    #[test]
    fn a_panicking_input_is_found_by_mutation_and_kept() {
        std::panic::set_hook(Box::new(|_| {}));
        let mut rng = Rng(7);
        let out = run_target(
            boom,
            &[b"xxboo".to_vec()],
            Duration::from_secs(20),
            &mut rng,
        );
        let _ = std::panic::take_hook();
        let found = out.finding.expect("a mutation reaches the panic");
        assert!(found.windows(4).any(|w| w == b"boom"));
    }

    #[test]
    fn a_clean_target_runs_until_the_budget() {
        let mut rng = Rng(7);
        let out = run_target(
            |_| {},
            &[b"a".to_vec()],
            Duration::from_millis(50),
            &mut rng,
        );
        assert!(out.finding.is_none());
        assert!(out.runs > 64);
    }
}
