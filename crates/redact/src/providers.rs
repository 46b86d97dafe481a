//! One rule per provider token format (the providers of gitleaks' default rule set, and more),
//! written from each provider's documented token shape. See `rules.rs` for how a spec becomes a regex.

use crate::rules::Shape::{Labelled as L, Raw as R, Token as T};
use crate::rules::Spec;

const UUID: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

macro_rules! s {
    ($kind:literal, [$($kw:literal),*], $shape:expr) => {
        Spec { kind: $kind, keywords: &[$($kw),*], shape: $shape }
    };
}

/// Provider rules: a distinctive token prefix (`Token`), or a provider name near a value of
/// the provider's shape (`Labelled`: the name within 40 characters before the value).
pub const PROVIDERS: &[Spec] = &[
    s!(
        "1password-secret-key",
        ["a3-"],
        T(
            r"\bA3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}"
        )
    ),
    s!(
        "1password-service-token",
        ["ops_ey"],
        T(r"\bops_eyJ[A-Za-z0-9+/]{100,}={0,3}")
    ),
    s!("adafruit-key", [], L(&["adafruit"], "[A-Za-z0-9_-]{32}")),
    s!("adobe-client-id", [], L(&["adobe"], "[a-fA-F0-9]{32}")),
    s!("adobe-client-secret", ["p8e-"], T(r"\bp8e-[A-Za-z0-9]{32}")),
    s!(
        "age-secret-key",
        ["age-secret-key-1"],
        T(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}")
    ),
    s!("airtable-key", [], L(&["airtable"], "[A-Za-z0-9]{17}")),
    s!(
        "airtable-pat",
        ["airtable"],
        T(r"\bpat[A-Za-z0-9]{14}\.[a-f0-9]{64}")
    ),
    s!("algolia-key", [], L(&["algolia"], "[A-Za-z0-9]{32}")),
    s!(
        "alibaba-access-key-id",
        ["ltai"],
        T(r"\bLTAI[A-Za-z0-9]{20}")
    ),
    s!("alibaba-secret", [], L(&["alibaba"], "[A-Za-z0-9]{30}")),
    s!(
        "anthropic-key",
        ["sk-ant-"],
        T(r"\bsk-ant-(?:api|admin|sid)\d\d-[A-Za-z0-9_-]{80,120}")
    ),
    s!("artifactory-key", ["akcp"], T(r"\bAKCp[A-Za-z0-9]{60,80}")),
    s!("artifactory-token", ["cmvmd"], T(r"\bcmVmd[A-Za-z0-9]{59}")),
    s!("asana-id", [], L(&["asana"], "[0-9]{16}")),
    s!("asana-secret", [], L(&["asana"], "[A-Za-z0-9]{32}")),
    s!(
        "asana-pat",
        [],
        L(&["asana"], "[0-9]/[0-9]{16,}:[A-Za-z0-9]{32}")
    ),
    s!(
        "atlassian-token",
        ["atatt3"],
        T(r"\bATATT3[A-Za-z0-9_\-=]{186}")
    ),
    s!(
        "atlassian-token",
        [],
        L(&["atlassian", "confluence", "jira"], "[A-Za-z0-9]{24}")
    ),
    s!(
        "authress-key",
        ["sc_", "ext_", "scauth_", "authress_"],
        T(
            r"\b(?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_-][A-Za-z0-9-]{10,32}\.[A-Za-z0-9+/_=-]{30,120}"
        )
    ),
    s!(
        "aws-bedrock-key",
        ["absk"],
        T(r"\bABSK[A-Za-z0-9+/]{109,269}={0,2}")
    ),
    s!(
        "aws-bedrock-key",
        ["bedrock-api-key-"],
        T(r"bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=%]*")
    ),
    s!(
        "azure-client-secret",
        ["q~"],
        T(r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}")
    ),
    s!(
        "azure-storage-key",
        ["accountkey="],
        T(r"(?i:AccountKey=)[A-Za-z0-9+/]{86}==")
    ),
    s!(
        "azure-sas",
        ["sig="],
        R(
            r"[?&]sv=\d{4}-\d\d-\d\d[^\s]*&sig=([A-Za-z0-9%+/=]{20,})",
            1
        )
    ),
    s!("beamer-token", [], L(&["beamer"], "b_[A-Za-z0-9=_-]{44}")),
    s!("bitbucket-id", [], L(&["bitbucket"], "[A-Za-z0-9]{32}")),
    s!(
        "bitbucket-secret",
        [],
        L(&["bitbucket"], "[A-Za-z0-9=_-]{64}")
    ),
    s!("bittrex-key", [], L(&["bittrex"], "[A-Za-z0-9]{32}")),
    s!("meraki-key", [], L(&["meraki"], "[0-9a-f]{40}")),
    s!("clickhouse-secret", ["4b1d"], T(r"\b4b1d[A-Za-z0-9]{38}")),
    s!(
        "clojars-token",
        ["clojars_"],
        T(r"(?i:CLOJARS_)[A-Za-z0-9]{60}")
    ),
    s!(
        "cloudflare-key",
        [],
        L(&["cloudflare"], "[A-Za-z0-9_-]{40}|[a-f0-9]{37}")
    ),
    s!(
        "cloudflare-origin-key",
        ["v1.0-"],
        T(r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}")
    ),
    s!(
        "codecov-token",
        [],
        L(&["codecov"], "[A-Za-z0-9]{32}|[0-9a-f-]{36}")
    ),
    s!(
        "cohere-key",
        [],
        L(&["cohere", "co_api_key"], "[A-Za-z0-9]{40}")
    ),
    s!("coinbase-token", [], L(&["coinbase"], "[A-Za-z0-9_-]{64}")),
    s!(
        "confluent-key",
        [],
        L(&["confluent"], "[A-Za-z0-9]{16}|[A-Za-z0-9+/]{64}")
    ),
    s!(
        "contentful-token",
        [],
        L(&["contentful"], "[A-Za-z0-9=_-]{43}")
    ),
    s!(
        "databricks-token",
        ["dapi"],
        T(r"\bdapi[a-f0-9]{32}(?:-\d)?")
    ),
    s!(
        "datadog-key",
        [],
        L(
            &["datadog", "dd_api_key", "dd_app_key"],
            "[A-Za-z0-9]{32}|[A-Za-z0-9]{40}"
        )
    ),
    s!(
        "defined-networking-token",
        ["dnkey-"],
        T(r"dnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52}")
    ),
    s!(
        "digitalocean-token",
        ["doo_v1_", "dop_v1_", "dor_v1_"],
        T(r"\bdo[opr]_v1_[a-f0-9]{64}")
    ),
    s!(
        "discord-token",
        [],
        L(
            &["discord"],
            "[a-f0-9]{64}|[0-9]{17,19}|[A-Za-z0-9=_-]{32}|[A-Za-z0-9_-]{24,26}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,38}"
        )
    ),
    s!(
        "discord-webhook",
        ["discord"],
        T(
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}"
        )
    ),
    s!(
        "doppler-token",
        [
            "dp.pt.",
            "dp.st.",
            "dp.ct.",
            "dp.sa.",
            "dp.scim.",
            "dp.audit."
        ],
        T(r"\bdp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9_.-]{40,44}")
    ),
    s!(
        "droneci-token",
        [],
        L(&["droneci", "drone_token"], "[A-Za-z0-9]{32}")
    ),
    s!(
        "dropbox-token",
        [],
        L(
            &["dropbox"],
            "[A-Za-z0-9]{15}|[A-Za-z0-9]{11}AAAAAAAAAA[A-Za-z0-9_=-]{43}"
        )
    ),
    s!(
        "dropbox-token",
        ["sl."],
        T(r"\bsl\.[A-Za-z0-9_=-]{130,152}")
    ),
    s!(
        "duffel-token",
        ["duffel_"],
        T(r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}")
    ),
    s!(
        "dynatrace-token",
        ["dt0c01."],
        T(r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}")
    ),
    s!(
        "easypost-token",
        ["ezak", "eztk"],
        T(r"\bEZ[AT]K[A-Za-z0-9]{54}")
    ),
    s!("etsy-token", [], L(&["etsy"], "[A-Za-z0-9]{24}")),
    s!(
        "facebook-token",
        ["eaam", "eaac", "eaag"],
        T(r"\bEAA[MCG][A-Za-z0-9]{100,}")
    ),
    s!(
        "facebook-token",
        [],
        L(
            &["facebook"],
            "[a-f0-9]{32}|[0-9]{15,16}\\|[0-9A-Za-z_-]{27,40}"
        )
    ),
    s!("fastly-token", [], L(&["fastly"], "[A-Za-z0-9=_-]{32}")),
    s!(
        "finicity-token",
        [],
        L(&["finicity"], "[a-f0-9]{32}|[A-Za-z0-9]{20}")
    ),
    s!("finnhub-token", [], L(&["finnhub"], "[A-Za-z0-9]{20}")),
    s!("flickr-token", [], L(&["flickr"], "[A-Za-z0-9]{32}")),
    s!(
        "flutterwave-key",
        ["flwseck", "flwpubk"],
        T(r"FLW(?:SECK|PUBK)(?:_TEST)?-[a-hA-H0-9]{12,32}(?:-X)?")
    ),
    s!(
        "flyio-token",
        ["fo1_", "fm1", "fm2_"],
        T(
            r"\b(?:fo1_[A-Za-z0-9_-]{43}|fm1[ar]_[A-Za-z0-9+/]{100,}={0,3}|fm2_[A-Za-z0-9+/]{100,}={0,3})"
        )
    ),
    s!("frameio-token", ["fio-u-"], T(r"fio-u-[A-Za-z0-9_=-]{64}")),
    s!(
        "freemius-key",
        ["sk_"],
        R(
            r#"(?i:["']secret_key["'])\s*=>\s*["'](sk_[^\s"']{29})["']"#,
            1
        )
    ),
    s!(
        "freshbooks-token",
        [],
        L(&["freshbooks"], "[A-Za-z0-9]{64}")
    ),
    s!("gcp-api-key", ["aiza"], T(r"\bAIza[A-Za-z0-9_-]{35}")),
    s!(
        "gcp-service-account",
        ["private_key_id"],
        R(r#""private_key_id"\s*:\s*"([a-f0-9]{40})""#, 1)
    ),
    s!(
        "google-oauth-secret",
        ["gocspx-"],
        T(r"\bGOCSPX-[A-Za-z0-9_-]{28}")
    ),
    s!(
        "google-oauth-token",
        ["ya29."],
        T(r"\bya29\.[A-Za-z0-9_-]{30,}")
    ),
    s!(
        "google-refresh-token",
        ["1//"],
        T(r"\b1//0[A-Za-z0-9_-]{40,}")
    ),
    s!(
        "github-token",
        ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"],
        T(r"\bgh[pousr]_[A-Za-z0-9]{36,}")
    ),
    s!(
        "github-token",
        ["github_pat_"],
        T(r"\bgithub_pat_[A-Za-z0-9_]{22,}")
    ),
    s!(
        "gitlab-token",
        [
            "glpat-",
            "gldt-",
            "glft-",
            "glsoat-",
            "glrt-",
            "glffct-",
            "glimt-",
            "glagent-",
            "gloas-",
            "glcbt-",
            "glptt-",
            "gr1348941"
        ],
        T(
            r"\b(?:glpat-[A-Za-z0-9_.-]{20,}|gldt-[A-Za-z0-9_-]{20,}|glft-[A-Za-z0-9_-]{20,}|glsoat-[A-Za-z0-9_-]{20,}|glrt-[A-Za-z0-9_.-]{20,}|glffct-[A-Za-z0-9_-]{20,}|glimt-[A-Za-z0-9_-]{25,}|glagent-[A-Za-z0-9_-]{50,}|gloas-[A-Za-z0-9_-]{64,}|glcbt-[0-9a-zA-Z]{1,5}_[A-Za-z0-9_-]{20,}|glptt-[0-9a-f]{40}|GR1348941[A-Za-z0-9_-]{20,})"
        )
    ),
    s!(
        "gitlab-session",
        ["_gitlab_session="],
        R(r"_gitlab_session=([0-9a-z]{32})", 1)
    ),
    s!("gitter-token", [], L(&["gitter"], "[A-Za-z0-9_-]{40}")),
    s!(
        "gocardless-token",
        [],
        L(&["gocardless"], "live_[A-Za-z0-9_=-]{40}")
    ),
    s!(
        "grafana-token",
        ["eyjrijoi"],
        T(r"\beyJrIjoi[A-Za-z0-9]{70,400}={0,3}")
    ),
    s!(
        "grafana-token",
        ["glc_", "glsa_"],
        T(r"\b(?:glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})")
    ),
    s!(
        "harness-token",
        ["pat.", "sat."],
        T(r"\b(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}")
    ),
    s!("heroku-key", [], L(&["heroku"], UUID)),
    s!("heroku-key", ["hrku-"], T(r"\bHRKU-[A-Za-z0-9_-]{58,}")),
    s!("hubspot-key", [], L(&["hubspot"], UUID)),
    s!(
        "hubspot-token",
        ["pat-na1-", "pat-eu1-"],
        T(r"\bpat-(?:na|eu)1-[a-f0-9-]{36}")
    ),
    s!(
        "huggingface-token",
        ["hf_", "api_org_"],
        T(r"\b(?:hf_|api_org_)[A-Za-z]{34}")
    ),
    s!("infracost-token", ["ico-"], T(r"\bico-[A-Za-z0-9]{32}")),
    s!("intercom-key", [], L(&["intercom"], "[A-Za-z0-9=_-]{60}")),
    s!(
        "intra42-secret",
        ["s-s4t2"],
        T(r"\bs-s4t2(?:ud|af)-[a-fA-F0-9]{64}")
    ),
    s!(
        "jfrog-key",
        [],
        L(
            &["jfrog", "artifactory", "bintray", "xray"],
            "[A-Za-z0-9]{73}|[A-Za-z0-9]{64}"
        )
    ),
    s!(
        "kraken-token",
        [],
        L(&["kraken"], "[A-Za-z0-9/=_+-]{80,90}")
    ),
    s!(
        "kucoin-key",
        [],
        L(
            &["kucoin"],
            "[a-f0-9]{24}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
        )
    ),
    s!(
        "launchdarkly-token",
        [],
        L(
            &["launchdarkly"],
            "(?:api|sdk|mob)-[A-Za-z0-9-]{36}|[A-Za-z0-9=_-]{40}"
        )
    ),
    s!(
        "linear-key",
        ["lin_api_", "lin_oauth_"],
        T(r"\blin_(?:api|oauth)_[A-Za-z0-9]{40,64}")
    ),
    s!("linear-secret", [], L(&["linear"], "[a-f0-9]{32}")),
    s!(
        "linkedin-secret",
        [],
        L(
            &["linkedin", "linked_in", "linked-in"],
            "[A-Za-z0-9]{14,16}"
        )
    ),
    s!(
        "lob-key",
        [],
        L(&["lob"], "(?:live|test)_(?:pub_)?[a-f0-9]{31,35}")
    ),
    s!(
        "looker-secret",
        [],
        L(&["looker"], "[A-Za-z0-9]{20}|[A-Za-z0-9]{24}")
    ),
    s!("mailchimp-key", ["-us"], T(r"\b[a-f0-9]{32}-us[0-9]{1,2}")),
    s!(
        "mailgun-key",
        ["key-", "pubkey-"],
        T(r"\b(?:pub)?key-[a-f0-9]{32}")
    ),
    s!(
        "mailgun-key",
        [],
        L(
            &["mailgun"],
            "[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}|[a-zA-Z0-9-]{72}"
        )
    ),
    s!(
        "mapbox-token",
        ["pk.", "sk.", "tk."],
        T(r"\b[spt]k\.eyJ[A-Za-z0-9_-]{50,}\.[A-Za-z0-9_-]{20,}")
    ),
    s!(
        "mattermost-token",
        [],
        L(&["mattermost"], "[A-Za-z0-9]{26}")
    ),
    s!(
        "maxmind-key",
        ["_mmk"],
        T(r"\b[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk")
    ),
    s!(
        "messagebird-key",
        [],
        L(
            &["messagebird", "message-bird", "message_bird"],
            "[A-Za-z0-9]{25}"
        )
    ),
    s!(
        "teams-webhook",
        ["webhook.office.com"],
        T(r"https://[A-Za-z0-9-]+\.webhook\.office\.com/webhookb2/[^\s'\x22]{40,}")
    ),
    s!(
        "netlify-token",
        [],
        L(&["netlify"], "[A-Za-z0-9=_-]{40,46}")
    ),
    s!("netlify-token", ["nfp_"], T(r"\bnfp_[A-Za-z0-9]{36}")),
    s!(
        "newrelic-key",
        ["nrjs-", "nrii-", "nrak-", "nral-"],
        T(r"\bNR(?:JS-[a-f0-9]{19}|II-[A-Za-z0-9-]{32}|AK-[A-Z0-9]{27}|AL-[A-Za-z0-9]{40})")
    ),
    s!(
        "newrelic-key",
        [],
        L(
            &["new-relic", "newrelic", "new_relic"],
            "[A-Za-z0-9]{64}|[a-f0-9]{36}NRAL|[A-Za-z0-9]{40}"
        )
    ),
    s!(
        "notion-token",
        ["ntn_", "secret_"],
        T(r"\b(?:ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})")
    ),
    s!("npm-token", ["npm_"], T(r"\bnpm_[A-Za-z0-9]{36}")),
    s!(
        "npmrc-auth",
        ["_authtoken", "_auth", "_password"],
        R(r"(?i:_authToken|_auth|_password)\s*=\s*([^\s]{8,})", 1)
    ),
    s!(
        "nuget-password",
        ["<add key="],
        R(
            r#"(?i:<add key=\\?"(?:ClearText)?Password\\?"\s*value=\\?")([^"\\]{8,})"#,
            1
        )
    ),
    s!(
        "nytimes-token",
        [],
        L(
            &["nytimes", "new-york-times", "newyorktimes"],
            "[A-Za-z0-9=_-]{32}"
        )
    ),
    s!("octopus-key", ["api-"], T(r"\bAPI-[A-Z0-9]{26,32}")),
    s!("okta-token", [], L(&["okta"], "00[A-Za-z0-9=_-]{40}")),
    s!(
        "openai-key",
        ["sk-", "t3blbkfj"],
        T(
            r"\bsk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}|\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}"
        )
    ),
    s!("openai-key", ["sk-"], T(r"\bsk-[A-Za-z0-9]{48}")),
    s!(
        "terraform-token",
        ["atlasv1"],
        T(r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}")
    ),
    s!(
        "curl-user-password",
        ["curl"],
        R(
            r#"\bcurl\b.*?\s(?:-u|--user)(?:=|\s+)['"]?[^\s:'"]+:([^\s'"]+)"#,
            1
        )
    ),
    s!(
        "langsmith-key",
        ["lsv2_"],
        T(r"\blsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}")
    ),
    s!(
        "launchdarkly-token",
        ["api-", "sdk-", "mob-"],
        T(r"\b(?:api|sdk|mob)-[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}")
    ),
    s!("rootly-key", ["rootly_"], T(r"\brootly_[a-f0-9]{64}")),
    s!("pinecone-key", ["pcsk_"], T(r"\bpcsk_[A-Za-z0-9_]{60,80}")),
    s!("xai-key", ["xai-"], T(r"\bxai-[A-Za-z0-9]{80}")),
    s!("groq-key", ["gsk_"], T(r"\bgsk_[A-Za-z0-9]{52}")),
    s!("replicate-token", ["r8_"], T(r"\br8_[A-Za-z0-9]{37}")),
    s!("deepseek-key", ["sk-"], T(r"\bsk-[a-f0-9]{32}")),
    s!("mistral-key", [], L(&["mistral"], "[A-Za-z0-9]{32}")),
    s!(
        "langfuse-key",
        ["sk-lf-", "pk-lf-"],
        T(r"\b[sp]k-lf-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    ),
    s!(
        "newrelic-key",
        ["-nrma"],
        T(r"\b(?:eu01xx|AA)[A-Za-z0-9]{36,40}-NRMA")
    ),
    s!("spectral-token", ["spu-"], T(r"\bspu-[a-f0-9]{32}")),
    s!(
        "bitbucket-app-password",
        ["atbb"],
        T(r"\bATBB[A-Za-z0-9_=.-]{20,}")
    ),
    // A UUID is a Vault credential as an AppRole `secret_id` or an (old-style) token; an
    // AppRole `role_id` is an identifier, like a user name, and is left.
    s!(
        "vault-token",
        ["secret_id", "secret-id", "secretid", "vault"],
        R(
            r#"(?i:secret[_-]?id[0-9]*|vault[\t\x20-\x7E]{0,40}?token)(?:\\?["'])?\s*(?::=|=>|=|:)?\s*(?:\\?["'])?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?:$|[^0-9A-Za-z])"#,
            1
        )
    ),
    s!(
        "openshift-token",
        ["sha256~"],
        T(r"\bsha256~[A-Za-z0-9_-]{43}")
    ),
    s!("perplexity-key", ["pplx-"], T(r"\bpplx-[A-Za-z0-9]{48}")),
    s!(
        "plaid-token",
        [
            "access-sandbox-",
            "access-development-",
            "access-production-"
        ],
        T(r"\baccess-(?:sandbox|development|production)-[0-9a-f-]{36}")
    ),
    s!(
        "plaid-secret",
        [],
        L(&["plaid"], "[A-Za-z0-9]{24}|[A-Za-z0-9]{30}")
    ),
    s!(
        "planetscale-token",
        ["pscale_"],
        T(r"\bpscale_(?:tkn|oauth|pw)_[A-Za-z0-9_=.-]{32,64}")
    ),
    s!(
        "postman-key",
        ["pmak-"],
        T(r"\bPMAK-[A-Za-z0-9]{24}-[A-Za-z0-9]{34}")
    ),
    s!("prefect-token", ["pnu_"], T(r"\bpnu_[A-Za-z0-9]{36}")),
    s!(
        "privateai-token",
        [],
        L(
            &["privateai", "private_ai", "private-ai"],
            "[A-Za-z0-9]{32}"
        )
    ),
    s!("pulumi-token", ["pul-"], T(r"\bpul-[a-f0-9]{40}")),
    s!(
        "pypi-token",
        ["pypi-ageichlwas5vcmc"],
        T(r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}")
    ),
    s!("rapidapi-key", [], L(&["rapidapi"], "[A-Za-z0-9_-]{50}")),
    s!("readme-key", ["rdme_"], T(r"\brdme_[a-z0-9]{70}")),
    s!("rubygems-key", ["rubygems_"], T(r"\brubygems_[a-f0-9]{48}")),
    s!(
        "scalingo-token",
        ["tk-us-"],
        T(r"\btk-us-[A-Za-z0-9_-]{48}")
    ),
    s!(
        "sendbird-token",
        [],
        L(
            &["sendbird"],
            "[a-f0-9]{40}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
        )
    ),
    s!(
        "sendgrid-key",
        ["sg."],
        T(r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}")
    ),
    s!(
        "sendinblue-key",
        ["xkeysib-", "xsmtpsib-"],
        T(r"\bx(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}")
    ),
    s!(
        "sentry-token",
        ["sntrys_", "sntryu_"],
        T(r"\b(?:sntrys_eyJ[A-Za-z0-9+/=_]{60,}|sntryu_[a-f0-9]{64})")
    ),
    s!(
        "sentry-token",
        [],
        L(&["sentry"], "[a-f0-9]{64}|[a-f0-9]{32}")
    ),
    s!(
        "settlemint-token",
        ["sm_aat_", "sm_pat_", "sm_sat_"],
        T(r"\bsm_[aps]at_[A-Za-z0-9]{16}")
    ),
    s!(
        "shippo-token",
        ["shippo_"],
        T(r"\bshippo_(?:live|test)_[a-fA-F0-9]{40}")
    ),
    s!(
        "shopify-token",
        ["shpat_", "shpca_", "shppa_", "shpss_"],
        T(r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}")
    ),
    s!(
        "sidekiq-secret",
        ["contribsys"],
        R(
            r"(?i:contribsys__com\s*[:=]\s*|https?://)([a-f0-9]{8}:[a-f0-9]{8})",
            1
        )
    ),
    s!(
        "slack-token",
        [
            "xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "xoxo-", "xoxe-", "xoxe.", "xapp-"
        ],
        T(r"\b(?:xox[abposre]|xoxe\.xox[bp]|xapp)-[A-Za-z0-9-]{10,}")
    ),
    s!(
        "slack-webhook",
        ["hooks.slack.com"],
        T(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{30,}")
    ),
    s!("snyk-token", [], L(&["snyk"], UUID)),
    s!(
        "sonar-token",
        ["squ_", "sqp_", "sqa_"],
        T(r"\bsq[upa]_[a-f0-9]{40}")
    ),
    s!("sonar-token", [], L(&["sonar"], "[A-Za-z0-9=_-]{40}")),
    s!(
        "sourcegraph-token",
        ["sgp_", "slk_"],
        T(
            r"\b(?:sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}|sgp_[a-fA-F0-9]{40}|slk_[a-f0-9]{64})"
        )
    ),
    s!(
        "square-token",
        ["sq0atp-", "sq0csp-", "eaaa"],
        T(r"\b(?:EAAA[A-Za-z0-9_-]{60}|sq0atp-[A-Za-z0-9_-]{22}|sq0csp-[A-Za-z0-9_-]{43})")
    ),
    s!("squarespace-token", [], L(&["squarespace"], UUID)),
    s!(
        "stripe-key",
        [
            "sk_test", "sk_live", "sk_prod", "rk_test", "rk_live", "rk_prod", "whsec_"
        ],
        T(r"\b(?:(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,247}|whsec_[A-Za-z0-9]{32,})")
    ),
    s!(
        "sumologic-key",
        [],
        L(&["sumo"], "su[A-Za-z0-9]{12}|[A-Za-z0-9]{64}")
    ),
    s!(
        "telegram-bot-token",
        [],
        L(&["telegr", "bot"], "[0-9]{5,16}:A[A-Za-z0-9_-]{34}")
    ),
    s!("travisci-token", [], L(&["travis"], "[A-Za-z0-9]{22}")),
    s!(
        "twilio-key",
        [],
        L(&["twilio"], "(?:SK|AC)?[0-9a-fA-F]{32}")
    ),
    s!("twitch-token", [], L(&["twitch"], "[A-Za-z0-9]{30}")),
    s!(
        "twitter-token",
        [],
        L(
            &["twitter"],
            "[A-Za-z0-9]{25}|[A-Za-z0-9]{45}|[A-Za-z0-9]{50}|[0-9]{15,25}-[A-Za-z0-9]{20,40}|A{22}[A-Za-z0-9%]{80,100}"
        )
    ),
    s!("typeform-token", ["tfp_"], T(r"\btfp_[A-Za-z0-9_.=-]{59}")),
    s!(
        "vault-token",
        ["hvs.", "hvb.", "hvr."],
        T(r"\bhv[sbr]\.[A-Za-z0-9_-]{90,300}")
    ),
    s!("vault-token", [], L(&["vault"], r"s\.[A-Za-z0-9]{24}")),
    s!(
        "yandex-token",
        [],
        L(
            &["yandex"],
            "t1\\.[A-Za-z0-9_-]+=*\\.[A-Za-z0-9_-]{86}=*|AQVN[A-Za-z0-9_-]{35,38}|YC[A-Za-z0-9_-]{38}"
        )
    ),
    s!("zendesk-key", [], L(&["zendesk"], "[A-Za-z0-9]{40}")),
    s!(
        "jwt",
        ["eyj"],
        R(
            r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}={0,2})",
            1
        )
    ),
];
