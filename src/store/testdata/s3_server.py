"""An S3 server for the store tests: moto on a free 127.0.0.1 port, signatures enforced.

Prints one JSON line: the port, an IAM user's keys and an assumed role's session keys, then
answers JSON commands on stdin (one line each) and stops when stdin closes or after --lifetime
seconds, whichever comes first.
"""
import argparse
import json
import logging
import sys
import threading

BUCKET = "mbcc-test"
ALLOW_ALL = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST_ALL = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                       "Action": "sts:AssumeRole"}]})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifetime", type=float, default=300.0)
    args = parser.parse_args()
    try:
        import boto3
        from moto import settings
        from moto.server import ThreadedMotoServer
    except ImportError as e:
        print(json.dumps({"skip": f"moto or boto3 is not installed in {sys.executable}: {e}"}), flush=True)
        return 0

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    endpoint = f"http://127.0.0.1:{port}"
    # Setup runs before authentication is switched on; the setup keys are moto's defaults.
    session = dict(endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
    iam = boto3.client("iam", **session)
    iam.create_user(UserName="mbcc")
    iam.put_user_policy(UserName="mbcc", PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName="mbcc")["AccessKey"]
    role = iam.create_role(RoleName="mbcc-role", AssumeRolePolicyDocument=TRUST_ALL)["Role"]
    iam.put_role_policy(RoleName="mbcc-role", PolicyName="all", PolicyDocument=ALLOW_ALL)
    temp = boto3.client("sts", **session).assume_role(
        RoleArn=role["Arn"], RoleSessionName="mbcc-test")["Credentials"]
    boto3.client("s3", **session).create_bucket(Bucket=BUCKET)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # from here on every request must be signed

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    print(json.dumps({
        "port": port, "bucket": BUCKET,
        "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"],
        "session_access_key": temp["AccessKeyId"], "session_secret_key": temp["SecretAccessKey"],
        "session_token": temp["SessionToken"],
    }), flush=True)

    def serve_commands():
        for line in sys.stdin:
            command = json.loads(line)
            try:
                reply = run(s3, command)
            except Exception as e:  # the test reads the reason
                reply = {"error": f"{type(e).__name__}: {e}"}
            print(json.dumps(reply), flush=True)

    reader = threading.Thread(target=serve_commands, daemon=True)
    reader.start()
    reader.join(timeout=args.lifetime)
    server.stop()
    return 0


def run(s3, command):
    """What boto3, not mbcc, sees in the bucket: the tests check mbcc against it."""
    if command["cmd"] == "list":
        paginator = s3.get_paginator("list_objects_v2")
        objects = {}
        for page in paginator.paginate(Bucket=BUCKET, Prefix=command.get("prefix", "")):
            for o in page.get("Contents", []):
                objects[o["Key"]] = o["Size"]
        return {"objects": objects}
    if command["cmd"] == "put":  # any key, even one mbcc refuses to write
        s3.put_object(Bucket=BUCKET, Key=command["key"], Body=command.get("body", "").encode())
        return {"ok": True}
    if command["cmd"] == "uploads":
        uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
        return {"uploads": [u["Key"] for u in uploads]}
    if command["cmd"] == "parts":  # how many parts the object was uploaded in
        head = s3.head_object(Bucket=BUCKET, Key=command["key"])
        etag = head["ETag"].strip('"')
        return {"parts": int(etag.split("-")[1]) if "-" in etag else 1, "size": head["ContentLength"]}
    return {"error": f"unknown command {command['cmd']}"}


if __name__ == "__main__":
    sys.exit(main())
