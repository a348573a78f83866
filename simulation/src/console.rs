//! The simulator console of `kiosk-simulate`: one line per action on the simulated
//! devices, typed where the demo runs (`card worker`, `remove`, `sscard wang-wei`,
//! `scan QC-...`, `paper out`), so a person at the demo window can place an ID card,
//! insert a social security card, scan a receipt or run the printer dry.

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
    /// List the synthetic social security cards.
    SocialSecurityCards,
    /// Insert the social security card with this label (or its 1-based number).
    InsertSocialSecurityCard(String),
    /// Take the social security card out.
    RemoveSocialSecurityCard,
    /// The scanner reads this code (a receipt's tracking number, a queued receipt's
    /// reference, a certificate's verify URL, or anything at all).
    Scan(String),
}

pub const HELP: &str = "simulator commands: cards | card <label or number> | remove | \
                        sscards | sscard <label or number> | sscard out | scan <code> | \
                        paper out | paper low | paper refill | cover open | cover close | help";

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
        ["sscards"] => Command::SocialSecurityCards,
        ["sscard", "out"] => Command::RemoveSocialSecurityCard,
        ["sscard", which] => Command::InsertSocialSecurityCard((*which).to_owned()),
        ["scan", code] => Command::Scan((*code).to_owned()),
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
    /// The social security card reader, where the terminal has one.
    pub social_security: Option<sscard::sim::SimControl>,
    /// The receipt scanner, where the terminal has one.
    pub scanner: Option<scanner::sim::ScannerControl>,
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
            Command::SocialSecurityCards | Command::InsertSocialSecurityCard(_) | Command::RemoveSocialSecurityCard => {
                let Some(slot) = &self.social_security else {
                    return "this terminal has no social security card reader".into();
                };
                let labels = slot.labels();
                match command {
                    Command::InsertSocialSecurityCard(which) => {
                        let label = match which.parse::<usize>() {
                            Ok(n) if (1..=labels.len()).contains(&n) => labels[n - 1].clone(),
                            _ => which.clone(),
                        };
                        if slot.insert(&label) {
                            format!("social security card {label} inserted")
                        } else {
                            format!("no social security card {which:?}; `sscards` lists them")
                        }
                    }
                    Command::RemoveSocialSecurityCard => {
                        slot.remove();
                        "social security card taken out".into()
                    }
                    _ => {
                        labels.iter().enumerate().map(|(i, l)| format!("{}. {l}", i + 1)).collect::<Vec<_>>().join("\n")
                    }
                }
            }
            Command::Scan(code) => match &self.scanner {
                Some(scanner) => {
                    scanner.scan(code);
                    format!("scanned {code}")
                }
                None => "this terminal has no receipt scanner".into(),
            },
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
            ("sscards", Command::SocialSecurityCards),
            ("sscard wang-wei", Command::InsertSocialSecurityCard("wang-wei".into())),
            ("sscard out", Command::RemoveSocialSecurityCard),
            ("scan QC-20261121-0004837", Command::Scan("QC-20261121-0004837".into())),
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
        let controls =
            Controls { reader: reader.control(), paper: paper.control(), social_security: None, scanner: None };
        let listed = controls.apply(&Command::Cards);
        assert!(listed.starts_with("1. "), "{listed}");
        let first = listed.lines().next().and_then(|l| l.split_once(". ")).map(|(_, l)| l.to_owned()).unwrap();
        assert_eq!(controls.apply(&Command::Card("1".into())), format!("card {first} placed on the reader"));
        assert!(controls.apply(&Command::Card("nobody".into())).starts_with("no card"));
        assert_eq!(controls.apply(&Command::Remove), "card removed");
    }

    #[test]
    fn devices_the_terminal_lacks_say_so() {
        let reader = crate::SimulatedReader::new(idcard::sim::SimConfig::default()).expect("the card file loads");
        let paper = printer::virtual_printer::VirtualPrinter::new(printer::Profile::KIOSK_80);
        let controls =
            Controls { reader: reader.control(), paper: paper.control(), social_security: None, scanner: None };
        assert_eq!(controls.apply(&Command::SocialSecurityCards), "this terminal has no social security card reader");
        assert_eq!(controls.apply(&Command::Scan("x".into())), "this terminal has no receipt scanner");
    }
}
