#!/usr/bin/python3
"""Writes the Kubernetes manifests under deploy/ from one table.

    deploy/gen.py           rewrite deploy/base/*.yaml and deploy/partners/example/
    deploy/gen.py --check   exit 1 (naming the files) if they differ from what
                            would be written (tests/scripts/deploy_manifests.sh)

Inputs: proto/topics (every topic and its .dlq twin becomes a Strimzi
KafkaTopic), proto/broker.json (who may do what on the broker, and each
topic's compaction and retention: the one table the embedded broker's
tools/kafka-admin and docker-compose.yml's kafka-init read too),
tools/kafka/pom.xml (the Apache Kafka version, the same everywhere),
services/<name>/main.c (a daemon's manifests are listed in
deploy/base/kustomization.yaml only once it exists), and the DAEMONS table
below: port, key files, settings. A consumer may also write the .dlq twin
of every topic it consumes (lib/kafka.h dead letters).

Strimzi resources are kafka.strimzi.io/v1 (Strimzi 1.0 removed v1beta2):
KRaft with a KafkaNodePool, TLS client authentication and simple
authorization. tests/scripts/deploy_manifests.sh validates every document
against the Kubernetes and Strimzi schemas (deploy/schema_check.mjs).
"""
import json
import os
import re
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
NS = "signpost"
CLUSTER = "signpost"  # Strimzi Kafka cluster name
IMAGE = "signpost:latest"  # kustomize `images:` renames it
STRIMZI = "kafka.strimzi.io/v1"
# where the init container puts the daemon's Kafka client certificate
# (user.crt, user.key: Secret signpost-<name>, which Strimzi's User Operator
# writes for the KafkaUser) and the cluster CA that signed the brokers'
# certificates (ca.crt: Secret <cluster>-cluster-ca-cert; the ca.crt in the
# user's own Secret is the clients CA, which cannot check a broker)
SECRETS_DIR = "/run/secrets"
KAFKA_TLS_DIR = SECRETS_DIR + "/kafka"
UID = 10001
PARTNER_ORG = "0190f3c2-5e1a-7c00-9a3b-000000000e01"  # example organisation id

COMMON_SECRETS = ["principal.key"]
# name: port, extra key files, extra settings, HPA max replicas. What each
# consumes and produces is proto/broker.json's (the one table of broker
# rights), merged in below.
DAEMONS = {
    "gateway": dict(
        port=8080, keys=["token-hash.key", "intake.pk", "reporting.pk"],
        env={"SIGNPOST_INTAKE_URL": "http://signpost-intake:8091",
             "SIGNPOST_DIRECTORY_URL": "http://signpost-directory:8092",
             "SIGNPOST_GATEWAY_TLS": "true"},
        max=10),
    "intake": dict(
        port=8091,
        keys=["intake.pk", "intake.sk", "notification.pk", "reporting.pk",
              "kek-k1.key", "blind-index.key"],
        env={}, max=8),
    "directory": dict(
        port=8092, keys=[], env={},
        max=8),
    "consent": dict(
        port=8093, keys=["blind-index.key"], env={},
        max=8),
    "notification": dict(
        port=8094,
        keys=["notification.pk", "notification.sk", "blind-index.key",
              "token-hash.key"],
        # production sends through a mail relay (or GOV.UK Notify): the
        # spool, which keeps plaintext files, is a development channel
        env={"SIGNPOST_NOTIFY_CHANNEL": "smtp",
             "SIGNPOST_SMTP_URL": "smtp://mail-relay:25"},
        max=8),
    "retention": dict(
        port=8095,
        keys=["retention.pk", "retention.sk", "retention.sign.sk",
              "kek-k1.key", "blind-index.key"],
        env={},
        max=4),
    "reporting": dict(
        port=8096, keys=["reporting.pk", "reporting.sk"], env={},
        max=4),
}


with open(os.path.join(ROOT, "proto", "broker.json")) as _f:
    BROKER = json.load(_f)
with open(os.path.join(ROOT, "tools", "kafka", "pom.xml")) as _f:
    KAFKA_VERSION = re.search(r"<kafka.version>([^<]+)</kafka.version>", _f.read()).group(1)
for _n, _d in DAEMONS.items():
    _p = BROKER["principals"][_n]
    _d.update(consumes=_p["consumes"], produces=_p["produces"],
              prefixes=_p.get("produces_prefixes", []), group=_p.get("group", _n))


class Octal(int):
    """An int written as 0NNN (file modes)."""


class Dumper(yaml.SafeDumper):
    pass


Dumper.add_representer(
    Octal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:int", "0%o" % v))


def labels(name, component="daemon"):
    return {"app.kubernetes.io/name": name,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": "signpost"}


def meta(name, lab=None, **kw):
    m = {"name": name}
    if lab:
        m["labels"] = lab
    m.update(kw)
    return m


def topics():
    out = []
    with open(os.path.join(ROOT, "proto/topics")) as f:
        for line in f:
            parts = line.split("#", 1)[0].split()
            if parts:
                out.append((parts[0], int(parts[1]) if len(parts) > 1 else 8))
    return out


def built(name):
    return os.path.exists(os.path.join(ROOT, "services", name, "main.c"))


def topic_config(name):
    """proto/broker.json's settings for a topic (partner.<org>.referrals
    under "partner.*"), numbers as numbers."""
    if name.endswith(".dlq"):
        return {"retention.ms": int(BROKER["dlq_retention_ms"])}
    key = "partner.*" if name.startswith("partner.") else name
    cfg = dict(BROKER["topics"].get(key, {}))
    if cfg.get("cleanup.policy") != "compact":
        cfg.setdefault("retention.ms", BROKER["default_retention_ms"])
    return {k: int(v) if str(v).isdigit() else v for k, v in cfg.items()}


def kafka_topic(name, partitions, extra_labels=None):
    lab = {"strimzi.io/cluster": CLUSTER, "app.kubernetes.io/part-of": "signpost"}
    lab.update(extra_labels or {})
    cfg = {"min.insync.replicas": 2}
    cfg.update(topic_config(name))
    return {"apiVersion": STRIMZI, "kind": "KafkaTopic",
            "metadata": meta(name, lab),
            "spec": {"topicName": name, "partitions": partitions,
                     "replicas": 3, "config": cfg}}


def acl(kind, name, ops, pattern="literal"):
    return {"resource": {"type": kind, "name": name, "patternType": pattern},
            "operations": ops, "host": "*"}


def kafka_user(name, acls, lab):
    lab = dict(lab, **{"strimzi.io/cluster": CLUSTER})
    return {"apiVersion": STRIMZI, "kind": "KafkaUser",
            "metadata": meta(name, lab),
            "spec": {"authentication": {"type": "tls"},
                     "authorization": {"type": "simple", "acls": acls}}}


def daemon_user(name, d):
    acls = []
    for t in d["consumes"]:
        acls.append(acl("topic", t, ["Read", "Describe"]))
    writes = list(d["produces"])
    writes += [t + ".dlq" for t in d["consumes"] if t + ".dlq" not in writes]
    for t in writes:
        acls.append(acl("topic", t, ["Write", "Describe"]))
    for p in d.get("prefixes", []):
        acls.append(acl("topic", p, ["Write", "Describe"], "prefix"))
    if d["consumes"]:
        acls.append(acl("group", d["group"], ["Read"]))
    return kafka_user("signpost-" + name, acls, labels(name))


def config_map(name, d):
    up = name.upper()
    data = {
        "SIGNPOST_DB": ("host=postgres port=5432 dbname=signpost "
                        "user=signpost_%s passfile=/run/secrets/db-%s.pgpass "
                        "sslmode=require" % (name, name)),
        "SIGNPOST_KAFKA": "%s-kafka-bootstrap:9093" % CLUSTER,
        "SIGNPOST_KAFKA_TLS_DIR": KAFKA_TLS_DIR,
        "SIGNPOST_%s_LISTEN" % up: "0.0.0.0:%d" % d["port"],
        "SIGNPOST_PRINCIPAL_KEY_FILE": SECRETS_DIR + "/principal.key",
        "SIGNPOST_SECRETS_DIR": SECRETS_DIR,
        "SIGNPOST_MIGRATIONS_DIR": "/opt/signpost/services/%s/migrations" % name,
        "SIGNPOST_LOG_LEVEL": "info",
    }
    data.update(d["env"])
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta("signpost-" + name, labels(name)), "data": data}


def secrets_volume(name):
    """Key files, the daemon's Kafka client certificate (Strimzi writes the
    KafkaUser's into Secret signpost-<name>) and the cluster CA, 0400."""
    return {"name": "secrets-in", "projected": {"defaultMode": Octal(0o400), "sources": [
        {"secret": {"name": "signpost-%s-keys" % name}},
        {"secret": {"name": "signpost-" + name, "items": [
            {"key": "user.crt", "path": "kafka/user.crt"},
            {"key": "user.key", "path": "kafka/user.key"}]}},
        {"secret": {"name": CLUSTER + "-cluster-ca-cert", "items": [
            {"key": "ca.crt", "path": "kafka/ca.crt"}]}}]}}


# Kubernetes mounts Secret files owned by root (or, with fsGroup, 0440):
# neither is readable-and-private for uid 10001, and the daemons refuse key
# files others can read. So an init container (same uid, reading through
# fsGroup) copies them to a memory volume as 0400 files the daemon owns.
COPY_SECRETS = ("set -eu; umask 077; cd /secrets-in; "
                "for f in * kafka/*; do [ -f \"$f\" ] || continue; "
                "mkdir -p \"/run/secrets/$(dirname \"$f\")\"; "
                "install -m 0400 \"$f\" \"/run/secrets/$f\"; done")


def container_security():
    return {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID,
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}}


def main_container(name, d):
    mounts = [{"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True},
              {"name": "tmp", "mountPath": "/tmp"}]
    env = []
    if name == "notification":
        env.append({"name": "SIGNPOST_NOTIFY_INSTANCE", "valueFrom": {
            "fieldRef": {"fieldPath": "metadata.name"}}})
    c = {"name": name, "image": IMAGE, "command": ["signpost-" + name],
         "ports": [{"name": "http", "containerPort": d["port"]}],
         "envFrom": [{"configMapRef": {"name": "signpost-" + name}}]}
    if env:
        c["env"] = env
    c.update({
        "startupProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                         "periodSeconds": 2, "failureThreshold": 90},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"},
                           "periodSeconds": 5, "timeoutSeconds": 3,
                           "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                          "periodSeconds": 10, "timeoutSeconds": 3,
                          "failureThreshold": 3},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                      "limits": {"memory": "512Mi"}},
        "securityContext": container_security(),
        "volumeMounts": mounts})
    return c


# The schema owner's password file, copied like the keys but to a volume
# only the migrate init container mounts.
COPY_OWNER = ("set -eu; umask 077; install -m 0400 /db-owner-in/db-owner.pgpass "
              "/run/db-owner/db-owner.pgpass")


def migrate_container(name):
    """signpost-<name> -m: as the schema's owner (signpost_<name>_owner),
    applies the migrations, grants the daemon's own role what it may touch,
    and exits. The daemon's container never sees the owner's password."""
    return {"name": "migrate", "image": IMAGE, "command": ["signpost-" + name, "-m"],
            "envFrom": [{"configMapRef": {"name": "signpost-" + name}}],
            "env": [{"name": "SIGNPOST_DB_MIGRATE", "value": (
                "host=postgres port=5432 dbname=signpost user=signpost_%s_owner "
                "passfile=/run/db-owner/db-owner.pgpass sslmode=require" % name)}],
            "resources": {"requests": {"cpu": "50m", "memory": "32Mi"},
                          "limits": {"memory": "128Mi"}},
            "securityContext": container_security(),
            "volumeMounts": [{"name": "db-owner", "mountPath": "/run/db-owner", "readOnly": True}]}


def deployment(name, d):
    volumes = [secrets_volume(name),
               {"name": "secrets", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
               {"name": "db-owner-in", "secret": {
                   "secretName": "signpost-%s-db-owner" % name, "defaultMode": Octal(0o400),
                   "items": [{"key": "db-%s-owner.pgpass" % name, "path": "db-owner.pgpass"}]}},
               {"name": "db-owner", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
               {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    init = {"name": "secrets", "image": IMAGE,
            "command": ["sh", "-c", COPY_SECRETS + "; " + COPY_OWNER],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                          "limits": {"memory": "32Mi"}},
            "securityContext": container_security(),
            "volumeMounts": [{"name": "secrets-in", "mountPath": "/secrets-in", "readOnly": True},
                             {"name": "secrets", "mountPath": "/run/secrets"},
                             {"name": "db-owner-in", "mountPath": "/db-owner-in", "readOnly": True},
                             {"name": "db-owner", "mountPath": "/run/db-owner"}]}
    sel = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "signpost"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta("signpost-" + name, labels(name)),
            "spec": {"replicas": 2, "revisionHistoryLimit": 5,
                     "selector": {"matchLabels": sel},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxUnavailable": 0, "maxSurge": 1}},
                     "template": {
                         "metadata": {"labels": labels(name)},
                         "spec": {
                             "automountServiceAccountToken": False,
                             "enableServiceLinks": False,
                             "terminationGracePeriodSeconds": 30,
                             "securityContext": {
                                 "runAsNonRoot": True, "runAsUser": UID,
                                 "runAsGroup": UID, "fsGroup": UID,
                                 "seccompProfile": {"type": "RuntimeDefault"}},
                             "initContainers": [init, migrate_container(name)],
                             "containers": [main_container(name, d)],
                             "volumes": volumes}}}}


def service(name, d):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": meta("signpost-" + name, labels(name)),
            "spec": {"type": "ClusterIP",
                     "selector": {"app.kubernetes.io/name": name,
                                  "app.kubernetes.io/part-of": "signpost"},
                     "ports": [{"name": "http", "port": d["port"],
                                "targetPort": "http", "protocol": "TCP"}]}}


def hpa(name, d):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta("signpost-" + name, labels(name)),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "signpost-" + name},
                     "minReplicas": 2, "maxReplicas": d["max"],
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 70}}}],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}}}


def pdb(name):
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": meta("signpost-" + name, labels(name)),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {
                "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "signpost"}}}}


def network_policies():
    internal = [n for n in DAEMONS if n != "gateway"]
    part_of = {"app.kubernetes.io/part-of": "signpost", "app.kubernetes.io/component": "daemon"}
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("signpost-default-deny-ingress"),
         "spec": {"podSelector": {"matchLabels": part_of},
                  "policyTypes": ["Ingress"]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("signpost-gateway-ingress"),
         "spec": {"podSelector": {"matchLabels": {
                      "app.kubernetes.io/name": "gateway",
                      "app.kubernetes.io/part-of": "signpost"}},
                  "policyTypes": ["Ingress"],
                  "ingress": [{"ports": [{"protocol": "TCP", "port": 8080}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta("signpost-daemons-from-gateway"),
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "signpost"},
                                  "matchExpressions": [{
                                      "key": "app.kubernetes.io/name", "operator": "In",
                                      "values": internal}]},
                  "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"podSelector": {"matchLabels": {
                                  "app.kubernetes.io/name": "gateway",
                                  "app.kubernetes.io/part-of": "signpost"}}}],
                               "ports": [{"protocol": "TCP", "port": DAEMONS[n]["port"]}
                                         for n in internal]}]}},
    ]


def ingress():
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": meta("signpost-gateway", labels("gateway")),
            "spec": {"tls": [{"hosts": ["signpost.example.org"],
                              "secretName": "signpost-gateway-tls"}],
                     "rules": [{"host": "signpost.example.org", "http": {"paths": [{
                         "path": "/", "pathType": "Prefix", "backend": {"service": {
                             "name": "signpost-gateway", "port": {"name": "http"}}}}]}}]}}


def kafka_cluster():
    """KRaft (Strimzi v1 has no ZooKeeper and needs node pools): three nodes
    that are both controller and broker, the Kafka of tools/kafka/pom.xml
    (its default metadata version), mTLS listeners and simple authorization."""
    return [
        {"apiVersion": STRIMZI, "kind": "KafkaNodePool",
         "metadata": meta("dual-role", {"strimzi.io/cluster": CLUSTER}),
         "spec": {"replicas": 3, "roles": ["controller", "broker"],
                  "storage": {"type": "jbod", "volumes": [{
                      "id": 0, "type": "persistent-claim", "size": "100Gi",
                      "deleteClaim": False, "kraftMetadata": "shared"}]}}},
        {"apiVersion": STRIMZI, "kind": "Kafka",
         "metadata": meta(CLUSTER),
         "spec": {"kafka": {
             "version": KAFKA_VERSION,
             "listeners": [
                 {"name": "tls", "port": 9093, "type": "internal", "tls": True,
                  "authentication": {"type": "tls"}},
                 {"name": "partners", "port": 9094, "type": "loadbalancer",
                  "tls": True, "authentication": {"type": "tls"}}],
             "authorization": {"type": "simple"},
             "config": {"auto.create.topics.enable": False,
                        "num.partitions": 8,
                        "default.replication.factor": 3,
                        "min.insync.replicas": 2,
                        "offsets.topic.replication.factor": 3,
                        "transaction.state.log.replication.factor": 3,
                        "transaction.state.log.min.isr": 2}},
             "entityOperator": {"topicOperator": {}, "userOperator": {}}}},
    ]


def partner_docs():
    org = PARTNER_ORG
    lab = {"app.kubernetes.io/name": "partner-" + org,
           "app.kubernetes.io/component": "partner",
           "app.kubernetes.io/part-of": "signpost"}
    pt = BROKER["partner"]
    prefix = pt["reads_prefix"].format(org=org)
    user = kafka_user(pt["user"].format(org=org), [
        acl("topic", prefix, ["Read", "Describe"], "prefix"),
        acl("group", pt["groups_prefix"].format(org=org), ["Read"], "prefix"),
    ] + [acl("topic", t, ["Write", "Describe"]) for t in pt["writes"]], lab)
    t = prefix + "referrals"
    return [kafka_topic(t, 8, lab), kafka_topic(t + ".dlq", 8, lab), user]


HEAD = ("# Generated by deploy/gen.py from proto/topics, proto/broker.json and its DAEMONS table;\n"
        "# edit those, then run it.\n")


def dump(docs, comment=""):
    body = "---\n".join(yaml.dump(d, Dumper=Dumper, sort_keys=False,
                                  default_flow_style=False, width=4096)
                        for d in docs)
    return HEAD + comment + body


def files():
    out = {}
    out["base/namespace.yaml"] = dump([{
        "apiVersion": "v1", "kind": "Namespace", "metadata": meta(NS, {
            "app.kubernetes.io/part-of": "signpost",
            "pod-security.kubernetes.io/enforce": "restricted"})}])
    out["base/kafka-cluster.yaml"] = dump(kafka_cluster(), (
        "# Strimzi (kafka.strimzi.io/v1) Apache Kafka %s in KRaft mode, one node pool of\n"
        "# three controller+broker nodes: mTLS for every client, ACLs (KafkaUser) for every\n"
        "# topic, no automatic topic creation (KafkaTopic is the only source).\n" % KAFKA_VERSION))
    tdocs = []
    for name, parts in topics():
        tdocs += [kafka_topic(name, parts), kafka_topic(name + ".dlq", parts)]
    out["base/kafka-topics.yaml"] = dump(tdocs, (
        "# Every topic in proto/topics and its .dlq twin (dead letters, kept 30 days).\n"))
    out["base/kafka-users.yaml"] = dump([daemon_user(n, d) for n, d in DAEMONS.items()], (
        "# One mTLS identity per daemon: Read on what it consumes (and its group), Write\n"
        "# on what it produces and on the .dlq twins of what it consumes.\n"))
    out["base/network-policy.yaml"] = dump(network_policies(), (
        "# Ingress: the gateway from anywhere on 8080; every other daemon's HTTP port\n"
        "# only from the gateway. Kafka and PostgreSQL are reached outbound.\n"))
    out["base/gateway-ingress.yaml"] = dump([ingress()])
    resources = ["namespace.yaml", "kafka-cluster.yaml", "kafka-topics.yaml",
                 "kafka-users.yaml", "network-policy.yaml", "gateway-ingress.yaml"]
    future = []
    for n, d in DAEMONS.items():
        f = "daemon-%s.yaml" % n
        out["base/" + f] = dump([config_map(n, d), deployment(n, d), service(n, d),
                                 hpa(n, d), pdb(n)], (
            "# %s: settings (ConfigMap), Deployment, Service, HPA, PodDisruptionBudget.\n"
            "# Needs Secret signpost-%s-keys: principal.key%s, db-%s.pgpass;\n"
            "# and Secret signpost-%s-db-owner: db-%s-owner.pgpass (the schema owner's,\n"
            "# read only by the migrate init container).\n"
            % (n, n, "".join(", " + k for k in d["keys"]), n, n, n)))
        (resources if built(n) else future).append(f)
    kust = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "metadata": {"name": "signpost"}, "namespace": NS,
            "resources": resources,
            "images": [{"name": "signpost", "newName": "signpost", "newTag": "latest"}]}
    note = ""
    if future:
        note = ("# Not listed until services/<name>/main.c exists (then rerun deploy/gen.py): %s\n"
                % ", ".join(future))
    out["base/kustomization.yaml"] = dump([kust], note)
    out["partners/example/partner.yaml"] = dump(partner_docs(), (
        "# An example partner organisation: its topic (intake writes it, sealed to the\n"
        "# organisation's key) and its mTLS identity. The partner may Read only topics\n"
        "# and consumer groups under partner.<org>. (run signpost-partner with\n"
        "# --group partner.<org>.receiver) and Write only referral.updates. Copy this\n"
        "# directory per organisation and replace the id. The partner's certificate is\n"
        "# in Secret partner-<org> (user.crt, user.key: PKCS#8 PEM), written by Strimzi's\n"
        "# User Operator; hand it over with the cluster CA (ca.crt of Secret\n"
        "# signpost-cluster-ca-cert) in one directory, which SIGNPOST_KAFKA_TLS_DIR names,\n"
        "# and the address of the \"partners\" listener (port 9094).\n"))
    out["partners/example/kustomization.yaml"] = dump([{
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "metadata": {"name": "partner-example"}, "namespace": NS,
        "resources": ["partner.yaml"]}])
    return out


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for rel, text in files().items():
        path = os.path.join(ROOT, "deploy", rel)
        old = open(path).read() if os.path.exists(path) else None
        if old == text:
            continue
        if check:
            stale.append("deploy/" + rel)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    if stale:
        print("stale (run deploy/gen.py): " + " ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
