//! The synthetic citizen registry created at first start: people who do not exist,
//! with valid-checksum ID numbers, contribution histories and pension status.
//! Generation is seeded, so every fresh data directory holds the same people.
//!
//! Fixed people tests and demos rely on (see README):
//! - `11010519491231002X` 张秀英, pensioner born 1949: qualification check **approved**.
//! - `440524188001010014` 李福寿, pensioner born 1880: **pending review** (`age_review`).
//! - `450103199001010032` 王伟: contributing,
//!   rejected for qualification (`not_a_pensioner`), can register unemployment.
//! - `450102198403150029` 黄丽: left her employer in 2025, insured nowhere since:
//!   may register as a flexible worker.
//! - `450105197805200046` 陈秀兰, aged 48: insures herself as a flexible worker since
//!   2025: may claim the "4050" subsidy once registered unemployed.

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::api::Insurance;
use crate::api::idnumber::check_digit as id_check_digit;
use crate::store::{ContributionRecord, Person};

/// Pensioner whose qualification check is approved (liveness passed).
pub const APPROVED_PENSIONER_ID: &str = "11010519491231002X";
pub const APPROVED_PENSIONER_NAME: &str = "张秀英";
/// Pensioner aged over 100: qualification goes to manual review.
pub const REVIEW_PENSIONER_ID: &str = "440524188001010014";
pub const REVIEW_PENSIONER_NAME: &str = "李福寿";
/// A contributing worker (not a pensioner).
pub const WORKER_ID: &str = "450103199001010032";
pub const WORKER_NAME: &str = "王伟";
/// Left her job in 2025 and is insured nowhere: may register as a flexible worker.
pub const FLEXIBLE_CANDIDATE_ID: &str = "450102198403150029";
pub const FLEXIBLE_CANDIDATE_NAME: &str = "黄丽";
/// A woman of 48 insured as a flexible worker: the "4050" subsidy once she is
/// registered unemployed.
pub const SUBSIDY_CANDIDATE_ID: &str = "450105197805200046";
pub const SUBSIDY_CANDIDATE_NAME: &str = "陈秀兰";

const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙"];
const GIVEN: [&str; 20] = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞",
];
const EMPLOYERS: [&str; 6] = [
    "南宁市第一机械厂",
    "广西北部湾物流有限公司",
    "青秀区教育局",
    "邕江纺织有限公司",
    "南宁市公交集团",
    FLEXIBLE_WORKER,
];
/// Region codes of the generated ID numbers (Nanning districts and a few others).
const REGIONS: [&str; 6] = ["450102", "450103", "450105", "450107", "110105", "440524"];

/// The month the synthetic histories run up to.
const LAST_MONTH: (i32, u32) = (2026, 10);
/// [`LAST_MONTH`] as `YYYY-MM`: whoever contributed this month is insured now.
pub const CURRENT_MONTH: &str = "2026-10";

/// Builds a valid ID number from region, birth date and sequence (3 digits).
pub fn make_id_number(region: &str, year: i32, month: u32, day: u32, seq: u32) -> String {
    let first17 = format!("{region}{year:04}{month:02}{day:02}{seq:03}");
    let check = id_check_digit(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// The employer name of people who insure themselves (灵活就业): they pay pension and
/// medical insurance only; unemployment and work-injury insurance come with a job.
pub const FLEXIBLE_WORKER: &str = "灵活就业人员";

/// What one month's contribution paid into `insurance` (employer and personal shares
/// together, in fen), or `None` when that insurance was not paid that month. Rates are
/// the reference service's: pension 8 % + 16 %, medical 2 % + 7 %, unemployment
/// 0.5 % + 0.5 %, work injury 0.4 % (employer only); a flexible worker pays 20 % for
/// pension and 9 % for medical insurance alone.
pub fn contribution_to(insurance: Insurance, month: &ContributionRecord) -> Option<i64> {
    let per_mille = match (insurance, month.employer == FLEXIBLE_WORKER) {
        (Insurance::Pension, true) => 200,
        (Insurance::Medical, true) => 90,
        (Insurance::Unemployment | Insurance::WorkInjury, true) => return None,
        (Insurance::Pension, false) => 240,
        (Insurance::Medical, false) => 90,
        (Insurance::Unemployment, false) => 10,
        (Insurance::WorkInjury, false) => 4,
    };
    Some(month.base_fen * per_mille / 1000)
}

/// The city's synthetic job openings: every kind of work in every district has at least
/// two (so a demo search never comes back empty), with seeded titles, employers and
/// wages. Contact codes are `JO-` and six digits, unique.
pub fn job_openings() -> Vec<crate::api::JobOpening> {
    use crate::api::{District, JobKind, JobOpening};
    let mut rng = StdRng::seed_from_u64(0x0000_6a6f_6273);
    let titles = |k: JobKind| -> &'static [&'static str] {
        match k {
            JobKind::Cleaning => &["保洁员", "物业保洁", "医院保洁"],
            JobKind::Security => &["保安员", "小区门岗", "商场安保"],
            JobKind::Catering => &["厨师助理", "餐厅服务员", "面点师"],
            JobKind::Retail => &["超市理货员", "收银员", "门店导购"],
            JobKind::Delivery => &["快递分拣员", "外卖骑手", "同城配送员"],
            JobKind::Manufacturing => &["普工", "质检员", "包装工"],
            JobKind::Caregiving => &["养老护理员", "育婴员", "家政服务员"],
            JobKind::Office => &["文员", "前台接待", "仓库管理员"],
        }
    };
    const EMPLOYERS: [&str; 6] = [
        "南宁市某物业服务有限公司",
        "广西某餐饮管理有限公司",
        "南宁市某超市",
        "广西某物流有限公司",
        "南宁市某养老服务中心",
        "广西某制造有限公司",
    ];
    let mut openings = Vec::new();
    let mut code = 100_000u32;
    for kind in JobKind::ALL {
        for district in District::ALL {
            for _ in 0..rng.random_range(2..=4) {
                code += rng.random_range(1..=97);
                let names = titles(kind);
                let wage_min_fen = i64::from(rng.random_range(20u32..=45)) * 10_000;
                openings.push(JobOpening {
                    contact_code: format!("JO-{code:06}"),
                    title: names[rng.random_range(0..names.len())].to_owned(),
                    employer: EMPLOYERS[rng.random_range(0..EMPLOYERS.len())].to_owned(),
                    kind,
                    district,
                    wage_min_fen,
                    wage_max_fen: wage_min_fen + i64::from(rng.random_range(5u32..=20)) * 10_000,
                });
            }
        }
    }
    openings
}

/// Generates `size` people (the fixed ones first) with their contribution months.
pub fn generate(size: u32) -> Vec<(Person, Vec<ContributionRecord>)> {
    let mut rng = StdRng::seed_from_u64(0x006b_696f_736b);
    let mut out = vec![
        fixed(&mut rng, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, (1949, 12, 31), "receiving"),
        fixed(&mut rng, REVIEW_PENSIONER_ID, REVIEW_PENSIONER_NAME, (1880, 1, 1), "receiving"),
        fixed(&mut rng, WORKER_ID, WORKER_NAME, (1990, 1, 1), "contributing"),
    ];
    // The people with a set history come from their own generator, so everybody after
    // them is the same as before they were added.
    let mut own = StdRng::seed_from_u64(0x0000_3430_3530);
    let mut flexible = fixed(&mut own, FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME, (1984, 3, 15), "contributing");
    set_history(&mut flexible.1, &[(EMPLOYERS[1], "2025-06"), ("", CURRENT_MONTH)]);
    let mut subsidy = fixed(&mut own, SUBSIDY_CANDIDATE_ID, SUBSIDY_CANDIDATE_NAME, (1978, 5, 20), "contributing");
    set_history(&mut subsidy.1, &[(EMPLOYERS[3], "2024-12"), (FLEXIBLE_WORKER, CURRENT_MONTH)]);
    out.extend([flexible, subsidy]);
    let mut seen: std::collections::HashSet<String> = out.iter().map(|(p, _)| p.id_number.clone()).collect();
    while out.len() < size as usize {
        let year = rng.random_range(1945..=2003);
        let month = rng.random_range(1..=12);
        let day = rng.random_range(1..=28);
        let region = REGIONS[rng.random_range(0..REGIONS.len())];
        let seq = rng.random_range(1..=999);
        let id = make_id_number(region, year, month, day, seq);
        if !seen.insert(id.clone()) {
            continue;
        }
        let name =
            format!("{}{}", SURNAMES[rng.random_range(0..SURNAMES.len())], GIVEN[rng.random_range(0..GIVEN.len())]);
        let status =
            if year <= 1965 { if rng.random_bool(0.1) { "suspended" } else { "receiving" } } else { "contributing" };
        out.push(fixed(&mut rng, &id, &name, (year, month, day), status));
    }
    out
}

/// Rewrites a history as spells: each `(employer, until)` covers the months up to and
/// including `until`; an empty employer is a gap (no contributions, the months dropped).
fn set_history(months: &mut Vec<ContributionRecord>, spells: &[(&str, &str)]) {
    months.retain_mut(|m| match spells.iter().find(|(_, until)| m.month.as_str() <= *until) {
        Some((employer, _)) if !employer.is_empty() => {
            (*employer).clone_into(&mut m.employer);
            true
        }
        _ => false,
    });
}

fn fixed(
    rng: &mut StdRng,
    id: &str,
    name: &str,
    birth: (i32, u32, u32),
    status: &str,
) -> (Person, Vec<ContributionRecord>) {
    let (year, month, day) = birth;
    let start_year = (year + 22).max(1995);
    let retire_year = year + 60;
    let end = if status == "contributing" { LAST_MONTH } else { (retire_year.min(LAST_MONTH.0), month) };
    let employer = EMPLOYERS[rng.random_range(0..EMPLOYERS.len())];
    let mut months = Vec::new();
    let (mut y, mut m) = (start_year, 1u32);
    while (y, m) <= end {
        // Contribution base grows with the calendar year, as the city's average wage does.
        let base_fen = 150_000 + i64::from(y - 1995) * 18_000;
        months.push(ContributionRecord {
            month: format!("{y:04}-{m:02}"),
            employer: employer.to_owned(),
            base_fen,
            personal_fen: base_fen * 8 / 100,
            employer_fen: base_fen * 16 / 100,
        });
        m += 1;
        if m > 12 {
            m = 1;
            y += 1;
        }
    }
    let receiving = status != "contributing";
    let pension_since = receiving.then(|| {
        let y = retire_year.max(1995).min(LAST_MONTH.0);
        format!("{y:04}-{month:02}")
    });
    let person = Person {
        id_number: id.to_owned(),
        name: name.to_owned(),
        birth_date: format!("{year:04}-{month:02}-{day:02}"),
        pension_status: status.to_owned(),
        pension_fen: if receiving { 280_000 + rng.random_range(0..200_000) } else { 0 },
        pension_since,
    };
    (person, months)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::id_number_is_valid;

    #[test]
    fn every_generated_id_number_has_a_valid_check_digit() {
        let people = generate(300);
        assert_eq!(people.len(), 300);
        for (p, _) in &people {
            assert!(id_number_is_valid(&p.id_number), "{}", p.id_number);
        }
        assert!(id_number_is_valid(WORKER_ID));
    }

    #[test]
    fn generation_is_deterministic() {
        let a: Vec<String> = generate(50).into_iter().map(|(p, _)| p.id_number).collect();
        let b: Vec<String> = generate(50).into_iter().map(|(p, _)| p.id_number).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn the_people_with_set_histories_are_what_the_readme_says() {
        let people = generate(50);
        let find = |id: &str| people.iter().find(|(p, _)| p.id_number == id).unwrap();
        let (flexible, months) = find(FLEXIBLE_CANDIDATE_ID);
        assert_eq!(flexible.name, FLEXIBLE_CANDIDATE_NAME);
        assert_eq!(months.last().unwrap().month, "2025-06");
        assert!(months.iter().all(|m| m.employer != FLEXIBLE_WORKER));
        let (subsidy, months) = find(SUBSIDY_CANDIDATE_ID);
        assert_eq!(subsidy.name, SUBSIDY_CANDIDATE_NAME);
        assert_eq!(months.last().unwrap().month, CURRENT_MONTH);
        assert_eq!(months.last().unwrap().employer, FLEXIBLE_WORKER);
        assert!(months.iter().any(|m| m.month == "2024-12" && m.employer != FLEXIBLE_WORKER));
        assert!(id_number_is_valid(FLEXIBLE_CANDIDATE_ID) && id_number_is_valid(SUBSIDY_CANDIDATE_ID));
    }

    #[test]
    fn every_kind_of_work_has_openings_in_every_district_with_unique_codes() {
        use crate::api::{District, JobKind};
        let openings = job_openings();
        for kind in JobKind::ALL {
            for district in District::ALL {
                let n = openings.iter().filter(|o| o.kind == kind && o.district == district).count();
                assert!(n >= 2, "{kind:?} in {district:?}: {n}");
            }
        }
        let codes: std::collections::HashSet<_> = openings.iter().map(|o| o.contact_code.as_str()).collect();
        assert_eq!(codes.len(), openings.len());
        assert!(openings.iter().all(|o| o.contact_code.len() == 9 && o.wage_min_fen < o.wage_max_fen));
        assert_eq!(job_openings(), openings, "seeded: the same every start");
    }

    #[test]
    fn registry_holds_pensioners_and_contributors_with_histories() {
        let people = generate(300);
        assert!(people.iter().any(|(p, m)| p.pension_status == "receiving" && !m.is_empty()));
        assert!(people.iter().any(|(p, m)| p.pension_status == "contributing" && !m.is_empty()));
    }
}
