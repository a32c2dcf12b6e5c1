"""`mbcc add --store s3://…`: the bundle reaches an S3 store through publish's path (made in a
local folder, sent verified, manifest last), against the real S3-protocol server the S3 tests
start; then `mbcc check` reads it from the bucket."""
import json

from test_add import make_models
from test_s3_store import aws_env, bucket_objects, check, mbcc, s3, server, verdicts  # noqa: F401 (fixtures)


def test_a_model_added_to_s3_is_checked_from_the_bucket(server, s3, tmp_path):
    models = make_models(tmp_path / "m", "1.4.1", "module")
    env = aws_env(server, tmp_path)
    url = f"s3://{server['bucket']}/added"
    files = [models / "mlp-symbol.json", models / "mlp-0003.params", "--name", "team-mlp"]
    result = mbcc(env, "add", *files, "--store", url, "--cache-dir", tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    objects = bucket_objects(s3, server, "added/v1/1.4.1/team-mlp/module-checkpoint/")
    manifest = json.loads(s3.get_object(Bucket=server["bucket"],
                                        Key="added/v1/1.4.1/team-mlp/module-checkpoint/manifest.json")["Body"].read())
    assert manifest["origin"]["kind"] == "user"
    assert set(objects) == {"manifest.json"} | {f["path"] for f in manifest["files"]}

    again = mbcc(env, "add", *files, "--store", url, "--cache-dir", tmp_path / "cache")
    assert again.returncode == 1 and "--force replaces it" in again.stderr, again.stderr

    result, report = check(env, tmp_path, url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(verdicts(report).values()) == {"PASS"} and len(verdicts(report)) == 5
