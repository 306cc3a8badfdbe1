//! Generated cloud credential files for the recall tables: GCP service-account JSON, Azure
//! CLI files (`az ad sp create-for-rbac` output, the MSAL token cache, storage connection
//! strings inline in code), `~/.aws/config` profiles, the console's credentials CSV, and AWS secrets away from their key id (`aws sts`
//! JSON output, a secret line above its id, an env file with the id elsewhere). Each is a
//! [`Fake`]: a family, the text and the value that must go.

use super::{B64, B64URL, BASE62, Fake, HEX, Rng, UPPER_B32, b64url};

/// A PEM body (what must not leak) and the JSON-escaped key as a service-account file holds it.
fn escaped_pem(rng: &mut Rng) -> (String, String) {
    let lines: Vec<String> = (0..(6 + rng.below(6)))
        .map(|_| rng.string(B64, 64))
        .collect();
    let secret = lines[lines.len() / 2].clone();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n",
        lines.join("\\n")
    );
    (secret, pem)
}

fn aws_secret(rng: &mut Rng) -> String {
    rng.string(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        40,
    )
}

/// Every cloud credential shape, three values each.
pub(crate) fn cloud_files(rng: &mut Rng) -> Vec<Fake> {
    let mut v = Vec::new();
    let mut add = |family, text, secret| {
        v.push(Fake {
            family,
            text,
            secret,
        })
    };
    for i in 0..3 {
        let (secret, pem) = escaped_pem(rng);
        let project = ["acme-prod", "wizard-dev-4821", "ml-pipeline"][i];
        add(
            "gcp-service-account-json",
            format!(
                "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"{project}\",\n  \"private_key_id\": \"{}\",\n  \"private_key\": \"{pem}\",\n  \"client_email\": \"deployer@{project}.iam.gserviceaccount.com\",\n  \"client_id\": \"1{}\",\n  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}}\n",
                rng.string(HEX, 40),
                rng.string(b"0123456789", 20)
            ),
            secret,
        );
        let password = format!(
            "{}{}Q~{}",
            rng.mixed(BASE62, 3),
            rng.below(10),
            rng.mixed(BASE62, 31 + i)
        );
        add(
            "azure-sp-create-for-rbac",
            format!(
                "{{\n  \"appId\": \"{}\",\n  \"displayName\": \"wizard-ci\",\n  \"password\": \"{password}\",\n  \"tenant\": \"{}\"\n}}\n",
                rng.uuid(),
                rng.uuid()
            ),
            password,
        );
        let refresh = format!("0.A{}", rng.mixed(B64URL, 300 + 40 * i));
        add(
            "azure-msal-refresh-token",
            format!(
                "{{\n    \"RefreshToken\": {{\n        \"{oid}.{tid}-login.microsoftonline.com-refreshtoken-04b07795--\": {{\n            \"credential_type\": \"RefreshToken\",\n            \"secret\": \"{refresh}\",\n            \"home_account_id\": \"{oid}.{tid}\",\n            \"environment\": \"login.microsoftonline.com\",\n            \"client_id\": \"04b07795-8ddb-461a-bbee-02f9e1bf7b46\"\n        }}\n    }}\n}}",
                oid = rng.uuid(),
                tid = rng.uuid()
            ),
            refresh,
        );
        let account_key = format!("{}==", rng.string(B64, 86));
        add(
            "azure-storage-connection-string",
            format!(
                "AZURE_STORAGE_CONNECTION_STRING=\"DefaultEndpointsProtocol=https;AccountName=acmeprod{i};AccountKey={account_key};EndpointSuffix=core.windows.net\"\nAZURE_CONTAINER=uploads\n"
            ),
            account_key,
        );
        let account_key = format!("{}==", rng.string(B64, 86));
        add(
            "azure-storage-account-key-inline",
            format!(
                "var client = new BlobServiceClient(\"DefaultEndpointsProtocol=https;AccountName=acme{i};AccountKey={account_key};EndpointSuffix=core.windows.net\");\n"
            ),
            account_key,
        );
        let secret = aws_secret(rng);
        add(
            "aws-console-credentials-csv",
            format!(
                "User name,Password,Access key ID,Secret access key,Console login link\nwizard-ci,,AKIA{},{secret},https://123456789012.signin.aws.amazon.com/console\n",
                rng.string(UPPER_B32, 16)
            ),
            secret,
        );
        let secret = aws_secret(rng);
        add(
            "aws-config-profile",
            format!(
                "[default]\nregion = us-east-1\noutput = json\n\n[profile deploy]\nregion = eu-central-1\naws_secret_access_key = {secret}\nrole_session_name = wizard\naws_access_key_id = AKIA{}\n\n[profile sso]\nsso_start_url = https://acme.awsapps.com/start\nsso_region = us-east-1\n",
                rng.string(UPPER_B32, 16)
            ),
            secret,
        );
        let (secret, session) = (
            aws_secret(rng),
            format!("IQoJb3JpZ2luX2Vj{}", rng.string(B64, 300)),
        );
        let sts = format!(
            "{{\n    \"Credentials\": {{\n        \"AccessKeyId\": \"ASIA{}\",\n        \"SecretAccessKey\": \"{secret}\",\n        \"SessionToken\": \"{session}\",\n        \"Expiration\": \"2026-12-07T12:00:00+00:00\"\n    }},\n    \"AssumedRoleUser\": {{\n        \"Arn\": \"arn:aws:sts::123456789012:assumed-role/deploy/wizard\"\n    }}\n}}",
            rng.string(UPPER_B32, 16)
        );
        add("aws-sts-json-secret", sts.clone(), secret);
        add("aws-sts-json-session-token", sts, session);
        let secret = aws_secret(rng);
        let filler: String = (0..(5 + 5 * i))
            .map(|k| format!("FEATURE_FLAG_{k}=on\n"))
            .collect();
        add(
            "aws-secret-far-from-id",
            format!(
                "AWS_REGION=eu-west-1\nAWS_ACCESS_KEY_ID=AKIA{}\n{filler}S3_BUCKET=acme-uploads\nAWS_SECRET_ACCESS_KEY={secret}\n",
                rng.string(UPPER_B32, 16)
            ),
            secret,
        );
        let token = b64url(rng.string(BASE62, 48).as_bytes());
        add(
            "gcp-access-token-json",
            format!(
                "{{\"access_token\": \"ya29.{token}\", \"expires_in\": 3599, \"token_type\": \"Bearer\"}}"
            ),
            format!("ya29.{token}"),
        );
    }
    v
}
