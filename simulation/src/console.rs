//! The simulator console of `kiosk-simulate`: one line per action on the simulated
//! devices, typed where the demo runs (`card worker`, `remove`, `paper out`), so a
//! person at the demo window can place a card or run the printer dry.

use idcard::sim::SimControl;
use printer::virtual_printer::PrinterControl;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One console command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    /// List the synthetic cards.
    Cards,
    /// Place the card with this label (or its 1-based number in `cards`).
    Card(String),
    Remove,
    PaperOut,
    PaperLow,
    PaperRefill,
    CoverOpen,
    CoverClose,
}

pub const HELP: &str = "simulator commands: cards | card <label or number> | remove | paper out | paper low | \
                        paper refill | cover open | cover close | help";

/// Reads one line; `None` for a blank line.
pub fn parse(line: &str) -> Option<Result<Command, String>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let command = match words.as_slice() {
        [] => return None,
        ["help" | "?"] => Command::Help,
        ["cards"] => Command::Cards,
        ["card", which] => Command::Card((*which).to_owned()),
        ["remove"] => Command::Remove,
        ["paper", "out"] => Command::PaperOut,
        ["paper", "low"] => Command::PaperLow,
        ["paper", "refill"] => Command::PaperRefill,
        ["cover", "open"] => Command::CoverOpen,
        ["cover", "close"] => Command::CoverClose,
        _ => return Some(Err(format!("unknown command {:?}; {HELP}", line.trim()))),
    };
    Some(Ok(command))
}

/// The simulated devices the console drives.
#[derive(Clone)]
pub struct Controls {
    pub reader: SimControl,
    pub paper: PrinterControl,
}

impl std::fmt::Debug for Controls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Controls")
    }
}

impl Controls {
    /// Carries out `command`; returns what to tell the person at the console.
    pub fn apply(&self, command: &Command) -> String {
        let labels = self.reader.labels();
        match command {
            Command::Help => HELP.into(),
            Command::Cards => {
                labels.iter().enumerate().map(|(i, l)| format!("{}. {l}", i + 1)).collect::<Vec<_>>().join("\n")
            }
            Command::Card(which) => {
                let label = match which.parse::<usize>() {
                    Ok(n) if (1..=labels.len()).contains(&n) => labels[n - 1].clone(),
                    _ => which.clone(),
                };
                if self.reader.place(&label) {
                    format!("card {label} placed on the reader")
                } else {
                    format!("no card {which:?}; `cards` lists them")
                }
            }
            Command::Remove => {
                self.reader.remove();
                "card removed".into()
            }
            Command::PaperOut => {
                self.paper.paper_out();
                "printer: out of paper".into()
            }
            Command::PaperLow => {
                self.paper.set_near_end(true);
                "printer: paper near its end".into()
            }
            Command::PaperRefill => {
                self.paper.refill_paper();
                "printer: paper refilled".into()
            }
            Command::CoverOpen => {
                self.paper.set_cover_open(true);
                "printer: cover open".into()
            }
            Command::CoverClose => {
                self.paper.set_cover_open(false);
                "printer: cover closed".into()
            }
        }
    }

    /// Reads commands from `input` (the terminal) until it ends.
    pub async fn run(self, input: impl AsyncBufRead + Unpin) {
        let mut lines = input.lines();
        println!("{HELP}");
        while let Ok(Some(line)) = lines.next_line().await {
            match parse(&line) {
                None => {}
                Some(Ok(command)) => println!("{}", self.apply(&command)),
                Some(Err(message)) => println!("{message}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_parses_and_nonsense_names_the_commands() {
        let table = [
            ("help", Command::Help),
            ("cards", Command::Cards),
            ("card worker", Command::Card("worker".into())),
            ("  card 2 ", Command::Card("2".into())),
            ("remove", Command::Remove),
            ("paper out", Command::PaperOut),
            ("paper low", Command::PaperLow),
            ("paper refill", Command::PaperRefill),
            ("cover open", Command::CoverOpen),
            ("cover close", Command::CoverClose),
        ];
        for (line, command) in table {
            assert_eq!(parse(line), Some(Ok(command)), "{line}");
        }
        assert_eq!(parse("   "), None);
        let Some(Err(message)) = parse("paper on fire") else { panic!() };
        assert!(message.contains("paper refill") && message.contains("paper on fire"), "{message}");
    }

    #[test]
    fn cards_are_placed_by_label_or_number_on_the_real_simulator() {
        let reader = crate::SimulatedReader::new(idcard::sim::SimConfig::default()).expect("the kiosk card file loads");
        let paper = printer::virtual_printer::VirtualPrinter::new(printer::Profile::KIOSK_80);
        let controls = Controls { reader: reader.control(), paper: paper.control() };
        let listed = controls.apply(&Command::Cards);
        assert!(listed.starts_with("1. "), "{listed}");
        let first = listed.lines().next().and_then(|l| l.split_once(". ")).map(|(_, l)| l.to_owned()).unwrap();
        assert_eq!(controls.apply(&Command::Card("1".into())), format!("card {first} placed on the reader"));
        assert!(controls.apply(&Command::Card("nobody".into())).starts_with("no card"));
        assert_eq!(controls.apply(&Command::Remove), "card removed");
    }
}
