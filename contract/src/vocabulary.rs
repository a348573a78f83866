//! The words terminal, screen and central service share: which service, which
//! certificate, why a job ended, how a citizen rated the service. Defined once here,
//! the lowest crate that needs them; the session core, the UI and the central service
//! all use these same types, so a citizen's choice reaches the server and the printout
//! unchanged.

use serde::{Deserialize, Serialize};

/// The self-service items a terminal offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// 参保证明打印: a signed certificate, printed.
    Certificate,
    /// 养老待遇资格认证: the yearly pension qualification check by face.
    QualificationCheck,
    /// 个人权益记录: contribution years on screen, optionally printed.
    ContributionRecord,
    /// 失业登记: unemployment registration on the keypad form.
    UnemploymentRegistration,
    /// 失业签到: the monthly check-in of a registered unemployed person, by face.
    UnemploymentCheckIn,
    /// 办理进度查询: an earlier application found by the number on its receipt.
    ApplicationProgress,
    /// 待遇发放记录: the last 12 months of pension paid, on screen, optionally printed
    /// (pensioners).
    PensionPayments,
    /// 灵活就业人员参保登记: a person without an employer insures themselves, at a
    /// contribution base chosen from the allowed bands.
    FlexibleEmploymentRegistration,
    /// 就业困难人员认定 + 灵活就业社保补贴申领 (the "4050" subsidy): women from 40 and
    /// men from 50, registered unemployed and insured as flexible workers, apply for a
    /// subsidy of their contributions.
    EmploymentSubsidy,
    /// 求职登记 + 岗位推荐: a short profile (job kind, district, phone) registers a job
    /// seeker; the openings that match are shown and printed with their contact codes.
    JobSeekerRegistration,
}

impl Service {
    pub const ALL: [Service; 10] = [
        Self::Certificate,
        Self::QualificationCheck,
        Self::ContributionRecord,
        Self::PensionPayments,
        Self::UnemploymentRegistration,
        Self::UnemploymentCheckIn,
        Self::FlexibleEmploymentRegistration,
        Self::EmploymentSubsidy,
        Self::JobSeekerRegistration,
        Self::ApplicationProgress,
    ];

    /// The wire name (`qualification_check`), also used in logs, metrics and audit records.
    pub fn code(self) -> &'static str {
        match self {
            Self::Certificate => "certificate",
            Self::QualificationCheck => "qualification_check",
            Self::ContributionRecord => "contribution_record",
            Self::UnemploymentRegistration => "unemployment_registration",
            Self::UnemploymentCheckIn => "unemployment_check_in",
            Self::ApplicationProgress => "application_progress",
            Self::PensionPayments => "pension_payments",
            Self::FlexibleEmploymentRegistration => "flexible_employment_registration",
            Self::EmploymentSubsidy => "employment_subsidy",
            Self::JobSeekerRegistration => "job_seeker_registration",
        }
    }

    /// The service's name as printed and spoken (Chinese).
    pub fn zh(self) -> &'static str {
        match self {
            Self::Certificate => "参保证明打印",
            Self::QualificationCheck => "养老待遇资格认证",
            Self::ContributionRecord => "个人权益记录",
            Self::UnemploymentRegistration => "失业登记",
            Self::UnemploymentCheckIn => "失业签到",
            Self::ApplicationProgress => "办理进度查询",
            Self::PensionPayments => "待遇发放记录",
            Self::FlexibleEmploymentRegistration => "灵活就业参保登记",
            Self::EmploymentSubsidy => "灵活就业社保补贴申领",
            Self::JobSeekerRegistration => "求职登记",
        }
    }
}

/// Which certificate the citizen asked for. Each insurance has its own participation
/// certificate; the pension receipt is for pensioners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    /// 社会保险参保证明: every insurance the person contributed to, one row per month.
    #[serde(alias = "social_insurance_participation")]
    AllInsurances,
    /// 养老保险参保证明: basic pension insurance contributions only.
    PensionInsurance,
    /// 医疗保险参保证明: basic medical insurance contributions only.
    MedicalInsurance,
    /// 失业保险参保证明: unemployment insurance contributions only.
    UnemploymentInsurance,
    /// 工伤保险参保证明: work-injury insurance (paid by the employer alone).
    WorkInjuryInsurance,
    /// 养老金领取证明: one row per month of pension paid (pensioners only).
    PensionReceipt,
}

impl CertificateKind {
    pub const ALL: [CertificateKind; 6] = [
        Self::AllInsurances,
        Self::PensionInsurance,
        Self::MedicalInsurance,
        Self::UnemploymentInsurance,
        Self::WorkInjuryInsurance,
        Self::PensionReceipt,
    ];

    /// The certificate's printed title.
    pub fn title_zh(self) -> &'static str {
        match self {
            Self::AllInsurances => "社会保险参保证明",
            Self::PensionInsurance => "养老保险参保证明",
            Self::MedicalInsurance => "医疗保险参保证明",
            Self::UnemploymentInsurance => "失业保险参保证明",
            Self::WorkInjuryInsurance => "工伤保险参保证明",
            Self::PensionReceipt => "养老金领取证明",
        }
    }

    /// The certificate's title in English (the screen's English mode).
    pub fn title_en(self) -> &'static str {
        match self {
            Self::AllInsurances => "Social insurance participation",
            Self::PensionInsurance => "Pension insurance participation",
            Self::MedicalInsurance => "Medical insurance participation",
            Self::UnemploymentInsurance => "Unemployment insurance participation",
            Self::WorkInjuryInsurance => "Work injury insurance participation",
            Self::PensionReceipt => "Pension receipt",
        }
    }

    /// The insurance a participation certificate covers (`None` for all of them, and
    /// for the pension receipt, which lists payments, not contributions).
    pub fn insurance(self) -> Option<Insurance> {
        match self {
            Self::PensionInsurance => Some(Insurance::Pension),
            Self::MedicalInsurance => Some(Insurance::Medical),
            Self::UnemploymentInsurance => Some(Insurance::Unemployment),
            Self::WorkInjuryInsurance => Some(Insurance::WorkInjury),
            Self::AllInsurances | Self::PensionReceipt => None,
        }
    }

    /// True for the pension receipt, whose rows are payments to the holder.
    pub fn is_pension_receipt(self) -> bool {
        self == Self::PensionReceipt
    }
}

/// The social insurances a month's contribution can belong to (五险 without maternity,
/// which is merged into medical insurance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Insurance {
    Pension,
    Medical,
    Unemployment,
    WorkInjury,
}

impl Insurance {
    pub const ALL: [Insurance; 4] = [Self::Pension, Self::Medical, Self::Unemployment, Self::WorkInjury];
}

/// Why the citizen's last job ended, chosen on the unemployment registration form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnemploymentReason {
    /// 劳动合同期满
    ContractEnded,
    /// 被用人单位解除
    Dismissed,
    /// 用人单位关闭、破产
    EmployerClosed,
    /// 本人辞职
    Resigned,
    Other,
}

impl UnemploymentReason {
    pub const ALL: [UnemploymentReason; 5] =
        [Self::ContractEnded, Self::Dismissed, Self::EmployerClosed, Self::Resigned, Self::Other];

    /// The wire name (`employer_closed`), as the central service stores it.
    pub fn code(self) -> &'static str {
        match self {
            Self::ContractEnded => "contract_ended",
            Self::Dismissed => "dismissed",
            Self::EmployerClosed => "employer_closed",
            Self::Resigned => "resigned",
            Self::Other => "other",
        }
    }
}

/// Why the registry says a person cannot have a service (shown to the citizen in plain
/// words, with the counter to go to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IneligibleReason {
    /// Pension payment records are for people receiving a pension.
    NotAPensioner,
    /// A pensioner neither registers as a flexible worker nor claims the subsidy.
    ReceivingPension,
    /// Insured through an employer this month: the employer pays, no self-registration.
    InsuredByEmployer,
    /// Already registered as a flexible worker (or such a registration is being handled).
    AlreadyRegistered,
    /// The subsidy is for women from 40 and men from 50.
    BelowSubsidyAge,
    /// The subsidy needs an open unemployment registration.
    NotRegisteredUnemployed,
    /// The subsidy needs contributions paid as a flexible worker.
    NotInsuredAsFlexibleWorker,
    /// A subsidy application is already open.
    AlreadyApplied,
    /// A job seeker registration is already open (it lasts until the person finds work).
    AlreadySeekingWork,
}

impl IneligibleReason {
    pub const ALL: [IneligibleReason; 9] = [
        Self::NotAPensioner,
        Self::ReceivingPension,
        Self::InsuredByEmployer,
        Self::AlreadyRegistered,
        Self::BelowSubsidyAge,
        Self::NotRegisteredUnemployed,
        Self::NotInsuredAsFlexibleWorker,
        Self::AlreadyApplied,
        Self::AlreadySeekingWork,
    ];

    /// The wire name (`below_subsidy_age`).
    pub fn code(self) -> &'static str {
        match self {
            Self::NotAPensioner => "not_a_pensioner",
            Self::ReceivingPension => "receiving_pension",
            Self::InsuredByEmployer => "insured_by_employer",
            Self::AlreadyRegistered => "already_registered",
            Self::BelowSubsidyAge => "below_subsidy_age",
            Self::NotRegisteredUnemployed => "not_registered_unemployed",
            Self::NotInsuredAsFlexibleWorker => "not_insured_as_flexible_worker",
            Self::AlreadyApplied => "already_applied",
            Self::AlreadySeekingWork => "already_seeking_work",
        }
    }

    /// The reason as printed and spoken (Chinese).
    pub fn zh(self) -> &'static str {
        match self {
            Self::NotAPensioner => "您目前没有领取养老金，暂无待遇发放记录",
            Self::ReceivingPension => "您已领取养老金，无需办理此项业务",
            Self::InsuredByEmployer => "您本月已由单位参保，无需以灵活就业人员身份登记",
            Self::AlreadyRegistered => "您已登记为灵活就业人员",
            Self::BelowSubsidyAge => "补贴对象为女性满40周岁、男性满50周岁",
            Self::NotRegisteredUnemployed => "申领补贴需先办理失业登记",
            Self::NotInsuredAsFlexibleWorker => "申领补贴需以灵活就业人员身份缴费",
            Self::AlreadyApplied => "您已提交补贴申请，正在办理中",
            Self::AlreadySeekingWork => "您已办理求职登记，登记仍然有效",
        }
    }
}

/// The kind of work a job seeker wants (chips on the profile form; openings carry one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// 保洁
    Cleaning,
    /// 保安
    Security,
    /// 餐饮
    Catering,
    /// 商超零售
    Retail,
    /// 快递配送
    Delivery,
    /// 生产制造
    Manufacturing,
    /// 家政护理
    Caregiving,
    /// 办公文员
    Office,
}

impl JobKind {
    pub const ALL: [JobKind; 8] = [
        Self::Cleaning,
        Self::Security,
        Self::Catering,
        Self::Retail,
        Self::Delivery,
        Self::Manufacturing,
        Self::Caregiving,
        Self::Office,
    ];

    /// The wire name (`manufacturing`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Cleaning => "cleaning",
            Self::Security => "security",
            Self::Catering => "catering",
            Self::Retail => "retail",
            Self::Delivery => "delivery",
            Self::Manufacturing => "manufacturing",
            Self::Caregiving => "caregiving",
            Self::Office => "office",
        }
    }

    /// As printed (Chinese).
    pub fn zh(self) -> &'static str {
        match self {
            Self::Cleaning => "保洁",
            Self::Security => "保安",
            Self::Catering => "餐饮",
            Self::Retail => "商超零售",
            Self::Delivery => "快递配送",
            Self::Manufacturing => "生产制造",
            Self::Caregiving => "家政护理",
            Self::Office => "办公文员",
        }
    }
}

/// The districts of the city the terminals serve (Nanning's seven), where a job seeker
/// wants to work and where an opening is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum District {
    Qingxiu,
    Xingning,
    Jiangnan,
    Xixiangtang,
    Liangqing,
    Yongning,
    Wuming,
}

impl District {
    pub const ALL: [District; 7] = [
        Self::Qingxiu,
        Self::Xingning,
        Self::Jiangnan,
        Self::Xixiangtang,
        Self::Liangqing,
        Self::Yongning,
        Self::Wuming,
    ];

    /// The wire name (`xixiangtang`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Qingxiu => "qingxiu",
            Self::Xingning => "xingning",
            Self::Jiangnan => "jiangnan",
            Self::Xixiangtang => "xixiangtang",
            Self::Liangqing => "liangqing",
            Self::Yongning => "yongning",
            Self::Wuming => "wuming",
        }
    }

    /// As printed (Chinese).
    pub fn zh(self) -> &'static str {
        match self {
            Self::Qingxiu => "青秀区",
            Self::Xingning => "兴宁区",
            Self::Jiangnan => "江南区",
            Self::Xixiangtang => "西乡塘区",
            Self::Liangqing => "良庆区",
            Self::Yongning => "邕宁区",
            Self::Wuming => "武鸣区",
        }
    }
}

/// 好差评: the five grades, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingGrade {
    VerySatisfied,
    Satisfied,
    Neutral,
    Dissatisfied,
    VeryDissatisfied,
}

impl RatingGrade {
    pub const ALL: [RatingGrade; 5] =
        [Self::VerySatisfied, Self::Satisfied, Self::Neutral, Self::Dissatisfied, Self::VeryDissatisfied];

    /// The grade as the API counts it: 5 (very satisfied) ..= 1 (very dissatisfied).
    pub fn score(self) -> u8 {
        match self {
            Self::VerySatisfied => 5,
            Self::Satisfied => 4,
            Self::Neutral => 3,
            Self::Dissatisfied => 2,
            Self::VeryDissatisfied => 1,
        }
    }

    pub fn from_score(score: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.score() == score)
    }

    /// Praise reasons go with the good grades, complaints with the others.
    pub fn reasons(self) -> &'static [RatingReason] {
        use RatingReason as R;
        match self {
            Self::VerySatisfied | Self::Satisfied => &[R::Fast, R::EasyToUse, R::ClearInstructions],
            Self::Neutral | Self::Dissatisfied | Self::VeryDissatisfied => {
                &[R::TooSlow, R::HardToUse, R::UnclearInstructions, R::DeviceProblem]
            }
        }
    }
}

/// Why a citizen gave their grade (reason chips on the rating screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingReason {
    Fast,
    EasyToUse,
    ClearInstructions,
    TooSlow,
    HardToUse,
    #[serde(alias = "information_unclear")]
    UnclearInstructions,
    DeviceProblem,
    Other,
}

impl RatingReason {
    pub const ALL: [RatingReason; 8] = [
        Self::Fast,
        Self::EasyToUse,
        Self::ClearInstructions,
        Self::TooSlow,
        Self::HardToUse,
        Self::UnclearInstructions,
        Self::DeviceProblem,
        Self::Other,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_are_the_wire_names() {
        for s in Service::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::Value::String(s.code().into()));
        }
    }

    #[test]
    fn ineligible_reason_codes_are_the_wire_names() {
        for r in IneligibleReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::Value::String(r.code().into()));
        }
    }

    #[test]
    fn job_kind_and_district_codes_are_the_wire_names() {
        for k in JobKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::Value::String(k.code().into()));
        }
        for d in District::ALL {
            assert_eq!(serde_json::to_value(d).unwrap(), serde_json::Value::String(d.code().into()));
        }
    }

    #[test]
    fn unemployment_reason_codes_are_the_wire_names() {
        for r in UnemploymentReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::Value::String(r.code().into()));
        }
    }

    #[test]
    fn grades_round_trip_through_their_score() {
        for g in RatingGrade::ALL {
            assert_eq!(RatingGrade::from_score(g.score()), Some(g));
        }
        assert_eq!(RatingGrade::from_score(0), None);
        assert_eq!(RatingGrade::from_score(6), None);
    }

    #[test]
    fn old_wire_names_are_still_read() {
        let k: CertificateKind = serde_json::from_str("\"social_insurance_participation\"").unwrap();
        assert_eq!(k, CertificateKind::AllInsurances);
        let r: RatingReason = serde_json::from_str("\"information_unclear\"").unwrap();
        assert_eq!(r, RatingReason::UnclearInstructions);
    }

    #[test]
    fn every_certificate_kind_has_its_own_title() {
        let titles: std::collections::HashSet<_> = CertificateKind::ALL.iter().map(|k| k.title_zh()).collect();
        assert_eq!(titles.len(), CertificateKind::ALL.len());
    }
}
