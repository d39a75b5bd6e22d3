#!/usr/bin/env python3
"""Deterministic generator of the guardrail detectors' labelled corpus (see README.md).

Writes generated.jsonl next to this file: valid and invalid structured values (resident IDs with real checksums and
with bad ones or impossible birth dates, Luhn-valid and Luhn-failing cards, IBANs with right and wrong mod-97 check
digits, keys with GitHub's CRC32 checksum, ...) set in English and Chinese sentences. Fixed seed, no dependencies:
`python3 generate.py` always writes the same file. Hand-written items live in hand.jsonl.
"""
import base64, binascii, json, os, random, string

rng = random.Random(20261206)
EN = [
    "Please contact me at {v} tomorrow.",
    "My {what} is {v}, keep it private.",
    "Customer record: name Alice Smith, {what} {v}, status active.",
    "Can you check why {v} was rejected by the form?",
    "{v}",
    "Forwarding the details ({what}: {v}) to the support team.",
]
ZH = [
    "请联系我：{v}，谢谢。",
    "我的{zwhat}是{v}，请保密。",
    "客户资料：姓名张伟，{zwhat}{v}，状态正常。",
    "帮我看看为什么{v}在表单里被拒绝了？",
    "已把详情（{zwhat}：{v}）转给客服。",
    "{v} 这个是我的{zwhat}",
]
WHAT = {
    "pii.email": ("email", "邮箱"), "pii.phone": ("phone number", "电话"), "pii.cn_mobile": ("mobile", "手机号"),
    "pii.cn_resident_id": ("ID number", "身份证号"), "pii.bank_card": ("card number", "银行卡号"),
    "pii.iban": ("IBAN", "IBAN账号"), "pii.ip": ("server address", "服务器地址"),
    "secret.openai_key": ("API key", "API密钥"), "secret.aws_access_key": ("AWS key", "AWS密钥"),
    "secret.github_token": ("token", "令牌"), "secret.jwt": ("session token", "会话令牌"),
    "secret.private_key": ("key", "私钥"),
}
items = []

def add(detector, label, value, lang=None, text=None, note=""):
    lang = lang or rng.choice(["en", "zh"])
    if text is None:
        what, zwhat = WHAT[detector]
        text = rng.choice(EN if lang == "en" else ZH).format(v=value, what=what, zwhat=zwhat)
    item = {"id": f"{detector}-{len(items):04d}", "detector": detector, "lang": lang, "label": 1 if label else 0, "text": text, "source": "generated"}
    if label:
        item["value"] = value
    if note:
        item["note"] = note
    items.append(item)

def digits(n):
    return "".join(rng.choice(string.digits) for _ in range(n))

# ---- pii.cn_resident_id: GB 11643-1999, ISO 7064 MOD 11-2 check character -------------------------------------
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def id_check(first17):
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, W)) % 11]
REGIONS = ["110105", "310115", "440305", "330106", "510107", "420106", "610113", "320102", "370202", "500103", "650102", "210202"]
def birth():
    y = rng.randint(1940, 2010); m = rng.randint(1, 12); d = rng.randint(1, 28)
    return f"{y:04d}{m:02d}{d:02d}"
for i in range(60):
    body = rng.choice(REGIONS) + birth() + digits(3)
    add("pii.cn_resident_id", True, body + id_check(body), lang="zh" if i % 3 else "en")
for i in range(25):  # right shape, wrong check character
    body = rng.choice(REGIONS) + birth() + digits(3)
    good = id_check(body)
    bad = rng.choice([c for c in "0123456789X" if c != good])
    add("pii.cn_resident_id", False, body + bad, note="bad checksum")
for i, date in enumerate(["19990230", "20010431", "19851301", "19770000", "20950612", "19000229", "20230931", "19881232", "21000101", "19600631"] * 2):
    body = rng.choice(REGIONS) + date + digits(3)
    add("pii.cn_resident_id", False, body + id_check(body), note="impossible or future birth date, valid checksum")
for i in range(15):  # order numbers: yyyyMMddHHmmss + 4 digits, 18 digits, no province starts with 20
    body = "20" + f"{rng.randint(20,26):02d}{rng.randint(1,12):02d}{rng.randint(1,28):02d}{rng.randint(0,23):02d}{rng.randint(0,59):02d}{rng.randint(0,59):02d}" + digits(3)
    body = body + id_check(body)
    add("pii.cn_resident_id", False, body, text=rng.choice([f"订单号：{body}，请尽快发货。", f"Order {body} has shipped.", f"您的订单 {body} 已签收"]), note="order number shaped like an ID")
for i in range(5):  # a valid ID inside a longer digit run is not an ID
    body = rng.choice(REGIONS) + birth() + digits(3)
    v = body + id_check(body)
    add("pii.cn_resident_id", False, v, text=f"流水号 {digits(2)}{v}{digits(1)} 已入账", note="inside a longer number")

# ---- pii.bank_card: Luhn ----------------------------------------------------------------------------------------
def luhn_digit(partial):
    s = 0
    for i, c in enumerate(reversed(partial)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        s += d
    return str((10 - s % 10) % 10)
def card(prefix, length):
    body = prefix + digits(length - len(prefix) - 1)
    return body + luhn_digit(body)
def group(n, sep=" "):
    return sep.join(n[i:i + 4] for i in range(0, len(n), 4))
BRANDS = [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("6222", 19), ("6214", 16), ("6228", 19), ("37", 15), ("6011", 16)]
for i in range(60):
    p, n = rng.choice(BRANDS)
    c = card(p, n)
    v = rng.choice([c, group(c), group(c, "-")]) if n != 15 else rng.choice([c, f"{c[:4]} {c[4:10]} {c[10:]}"])
    add("pii.bank_card", True, v)
for i in range(35):
    p, n = rng.choice(BRANDS)
    c = card(p, n)
    bad = c[:-1] + str((int(c[-1]) + rng.randint(1, 9)) % 10)
    add("pii.bank_card", False, rng.choice([bad, group(bad)]), note="fails Luhn")
for t in ["0000 0000 0000 0000", "1234 5678 9012 3456", "4111 1111 1111 111", "1111-2222-3333-4444"]:
    add("pii.bank_card", False, t, note="placeholder or wrong length")
for i in range(11):
    tn = "1Z" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    add("pii.bank_card", False, None, text=rng.choice([f"Tracking number {tn}, ETA Friday.", f"快递单号{tn}，预计周五到。"]), note="tracking number")

# ---- pii.iban: ISO 13616 mod 97 ------------------------------------------------------------------------------------
IBAN_LEN = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "CH": 21, "BE": 16}
def iban_bban(cc):
    n = IBAN_LEN[cc] - 4
    if cc == "GB": return "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + digits(14)
    if cc == "NL": return "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + digits(10)
    if cc == "IT": return rng.choice(string.ascii_uppercase) + digits(n - 1)
    return digits(n)
def mod97(s):
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97
def iban(cc):
    bban = iban_bban(cc)
    check = 98 - mod97(cc + "00" + bban)
    return f"{cc}{check:02d}{bban}"
for i in range(60):
    v = iban(rng.choice(list(IBAN_LEN)))
    add("pii.iban", True, rng.choice([v, group(v)]))
for i in range(40):
    v = iban(rng.choice(list(IBAN_LEN)))
    cd = int(v[2:4])
    bad = v[:2] + f"{(cd + rng.randint(1, 50)) % 97 + 2:02d}"[-2:] + v[4:]
    if mod97(bad) == 1: continue
    add("pii.iban", False, rng.choice([bad, group(bad)]), note="bad check digits")
for i in range(10):
    cc = rng.choice(list(IBAN_LEN)); v = iban(cc)
    add("pii.iban", False, v[:-1], note="wrong length for the country")
for t in ["Product code DE2024ABCDEF12 is out of stock.", "SWIFT/BIC: DEUTDEFF500", "型号 GB1234567890 的说明书在附件里", "Ref FR76 is the prefix of every French IBAN."]:
    add("pii.iban", False, None, text=t, note="hand-shaped negative")

# ---- pii.cn_mobile ------------------------------------------------------------------------------------------------
PREFIX = ["130", "131", "135", "138", "139", "147", "150", "152", "158", "166", "177", "180", "186", "189", "199", "198"]
for i in range(60):
    m = rng.choice(PREFIX) + digits(8)
    v = rng.choice([m, m, f"{m[:3]} {m[3:7]} {m[7:]}", f"{m[:3]}-{m[3:7]}-{m[7:]}", f"+86 {m}", f"+86-{m}"])
    add("pii.cn_mobile", True, v, lang="zh" if i % 4 else "en")
for i in range(20):
    m = rng.choice(["10", "11", "12"]) + digits(9)
    add("pii.cn_mobile", False, m, note="11 digits with no mobile prefix")
for i in range(15):
    m = rng.choice(PREFIX) + digits(8)
    add("pii.cn_mobile", False, None, text=rng.choice([f"订单号 {m}{digits(4)} 已发货", f"timestamp 1{m[1:]}{digits(2)} ms", f"运单 {digits(3)}{m} 派送中"]), note="inside a longer number")
for i in range(15):
    m = rng.choice(PREFIX) + digits(7)
    add("pii.cn_mobile", False, None, text=rng.choice([f"工号{m}", f"Ticket #{m} closed", f"编号 {m} 的设备"]), note="10 digits")

# ---- pii.phone (international form, +country code) -----------------------------------------------------------------
def intl():
    k = rng.randrange(7)
    if k == 0: return f"+1 {rng.choice(['212','415','646','617','312','206','303','512'])} {rng.randint(201,989)} {digits(4)}"
    if k == 1: return f"+44 20 7{digits(3)} {digits(4)}"
    if k == 2: return f"+44 79{rng.choice('024589')}{digits(1)} {digits(6)}"
    if k == 3: return f"+49 30 {rng.randint(2,9)}{digits(7)}"
    if k == 4: return f"+33 6 {digits(2)} {digits(2)} {digits(2)} {digits(2)}"
    if k == 5: return f"+81 3-{rng.randint(1000,9999)}-{digits(4)}"
    return f"+61 4{rng.choice('0123')}{digits(1)} {digits(3)} {digits(3)}"
for i in range(60):
    add("pii.phone", True, intl())
for t in ["+1.2.3", "+12", "+1 000 000 0000", "+44 00 0000 0000", "+49 0 0", "+33 0", "+1 (000) 000-0000", "+81 0-0000-0000"]:
    add("pii.phone", False, None, text=f"Value {t} in the log", note="invalid international number")
for i in range(20):
    d = f"20{rng.randint(10,26)}-{rng.randint(1,12):02d}-{rng.randint(1,28):02d}"
    add("pii.phone", False, None, text=rng.choice([f"Released on {d}, see the changelog.", f"发布日期 {d}", f"score +{rng.randint(1,99)}.{digits(2)} points", f"温度变化 +{rng.randint(1,40)} 度"]), note="dates and signed numbers")
for i in range(22):
    add("pii.phone", False, None, text=rng.choice([f"ISBN 978-{digits(1)}-{digits(3)}-{digits(5)}-{digits(1)}", f"Invoice No. {digits(8)}", f"合计 {digits(6)} 元", f"commit {''.join(rng.choice('0123456789abcdef') for _ in range(12))}"]), note="numbers that are not phones")

# ---- pii.email -----------------------------------------------------------------------------------------------------
NAMES = ["alice", "bob.smith", "zhang.wei", "li_na", "j.doe+news", "wang-fang", "chen2024", "ops", "m.garcia", "liuyang88"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.cn", "qq.com", "163.com", "gmail.com", "outlook.com", "university.edu.cn", "company.co.uk"]
for i in range(60):
    add("pii.email", True, f"{rng.choice(NAMES)}@{rng.choice(DOMAINS)}")
for t in ["icon@2x.png", "logo@3x.jpg", "image@2x.webp", "sprite@1.5x.svg"]:
    add("pii.email", False, None, text=f"Use the asset {t} for retina screens.", note="retina asset name")
    add("pii.email", False, None, text=f"请使用 {t} 作为高清图标", lang="zh", note="retina asset name")
for t in ["@alice", "@Override", "npm i @types/node@20.1.0", "user@localhost", "admin@", "@example.com", "pip install pkg@1.2", "name at example dot com", "foo@bar", "ssh root@10", "git checkout feature@{1}", "张伟@研发部", "邮件发给 @李娜 就行"]:
    add("pii.email", False, None, text=f"Note: {t} here", note="at-sign that is not an address")
for i in range(30):
    add("pii.email", False, None, text=rng.choice([f"@{rng.choice(NAMES).replace('.', '')} 请看一下", f"See @{rng.choice(NAMES).replace('.', '')} in the thread", f"decorator @{rng.choice(['property','staticmethod','dataclass'])} on line {rng.randint(1,400)}", f"version {rng.choice(['lodash','react','vue'])}@{rng.randint(1,18)}.{rng.randint(0,9)}.{rng.randint(0,9)}"]), note="mention, decorator or package@version")

# ---- pii.ip --------------------------------------------------------------------------------------------------------
for i in range(45):
    v = rng.choice([f"192.168.{rng.randint(0,255)}.{rng.randint(1,254)}", f"10.{rng.randint(0,255)}.{rng.randint(0,255)}.{rng.randint(1,254)}", f"{rng.randint(11,223)}.{rng.randint(0,255)}.{rng.randint(0,255)}.{rng.randint(1,254)}"])
    add("pii.ip", True, v)
for v in ["2001:db8::1", "fe80::1ff:fe23:4567:890a", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::ffff:192.0.2.128", "2400:cb00:2048:1::c629:d7a2", "fd12:3456:789a:1::1", "2606:4700:4700::1111", "2001:db8:0:0:1:0:0:1", "240e:3b7:1234::88", "2409:8900::1", "fe80::a00:27ff:fe4e:66a1", "2001:4860:4860::8888", "2001:db8:1::ab9:C0A8:102", "2a00:1450:4001:81a::200e", "2408:8000::8"]:
    add("pii.ip", True, v)
for i in range(30):
    v = f"{rng.randint(1,12)}.{rng.randint(0,30)}.{rng.randint(0,30)}.{rng.randint(0,300)}"
    add("pii.ip", False, None, text=rng.choice([f"Upgrade to version {v} today.", f"版本 {v} 修复了这个问题", f"Requires v{v} or later", f"Chrome/{rng.randint(100,130)}.0.{rng.randint(1000,6999)}.{rng.randint(10,200)} Safari", f"软件版本号：V{v}", f"pip install numpy=={v}"]), note="version string shaped like an IP")
for t in ["192.168.1.300", "256.1.1.1", "1.2.3.4.5", "01.02.03.04", "10.0.0", "12:30:45", "std::vector<int>", "Foo::Bar::baz", "a::b", "3.14159.26", "ratio 1.2.3.4.5.6", "13:45:00.123", "数据 1.5.2.8.9"]:
    add("pii.ip", False, None, text=f"Value {t} in the text", note="not an address")
for i in range(8):
    add("pii.ip", False, None, text=f"Section {rng.randint(1,9)}.{rng.randint(1,9)}.{rng.randint(1,9)} covers it, see figure {rng.randint(1,9)}.{rng.randint(1,9)}", note="section numbers")

# ---- secrets ---------------------------------------------------------------------------------------------------------
B62 = string.ascii_letters + string.digits
def rnd(n, alphabet=B62):
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in s) and any(c.isupper() for c in s) and any(c.islower() for c in s):
            return s
for i in range(60):
    k = rng.randrange(4)
    v = ["sk-" + rnd(48), "sk-proj-" + rnd(64, B62 + "-_") + "T3BlbkFJ" + rnd(20) if False else "sk-proj-" + rnd(120, B62 + "_-"), "sk-ant-api03-" + rnd(93, B62 + "_-") + "AA", "sk-svcacct-" + rnd(100, B62 + "_-")][k]
    add("secret.openai_key", True, v)
for t in ["risk-free", "task-manager", "desk-lamp", "sk-learn", "sk-1234", "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "sk-...", "sk-your-api-key-here", "sk-YOUR_OPENAI_API_KEY_GOES_HERE_000", "sk-proj-REPLACE_ME", "OPENAI_API_KEY=sk-<your key>", "brisk-walking-group-weekend-morning", "sk-spinner-loading-overlay-container", "const key = process.env.OPENAI_API_KEY // sk-... never hardcode", "husk-corn-variety-2024-harvest-report", "flask-sqlalchemy-session-manager", "whisk-eggs-gently-for-two-minutes-then-bake", "Obelisk-Tower-Building-Plan-Phase-Three"]:
    add("secret.openai_key", False, None, text=f"see: {t}", note="sk- that is not a key")
for i in range(34):
    word = rng.choice(["risk", "task", "desk", "disk", "mask", "ask", "kiosk", "tusk", "dusk", "whisk"])
    tail = "-".join(rng.choice(["manager", "queue", "worker", "config", "v2", "service", "handler", "lamp", "report", "policy", "layer", "level", "score"]) for _ in range(rng.randint(2, 5)))
    add("secret.openai_key", False, None, text=rng.choice([f"import {word}-{tail} from './lib'", f"class .{word}-{tail} {{ display: none; }}", f"项目目录 {word}-{tail}/src 下的代码", f"kubectl get pods -l app={word}-{tail}"]), note="code that contains sk-")

AWS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
for i in range(60):
    add("secret.aws_access_key", True, rng.choice(["AKIA", "ASIA"]) + "".join(rng.choice(AWS) for _ in range(16)))
for i in range(20):
    add("secret.aws_access_key", False, None, text=rng.choice([f"id AKIA{''.join(rng.choice(AWS) for _ in range(rng.choice([12, 14, 15])))} truncated", f"ref TAKIA{''.join(rng.choice(AWS) for _ in range(16))}X", f"akia{''.join(rng.choice(AWS.lower()) for _ in range(16))} lowercase"]), note="wrong length, embedded or lower case")
for t in ["AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "AKIAXXXXXXXXXXXXXXXX", "AKIA1234567890123456"]:
    add("secret.aws_access_key", False, None, text=f"e.g. {t} from the docs", note="documentation placeholder")
for i in range(26):
    add("secret.aws_access_key", False, None, text=rng.choice([f"Region us-east-1, bucket {rng.choice(['akia','asia'])}-logs-{digits(6)}", f"AKIA是AWS访问密钥的前缀，长度为20位", f"变量名 AWS_ACCESS_KEY_ID 和 ASIA 区域", f"ARN arn:aws:iam::{digits(12)}:user/ASIA{digits(3)}"]), note="mentions of the prefix")

def b62crc(s):
    n = binascii.crc32(s.encode()) & 0xFFFFFFFF
    out = ""
    for _ in range(6):
        out = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[n % 62] + out
        n //= 62
    return out
def gh(prefix):
    body = rnd(30)
    return f"{prefix}_{body}{b62crc(body)}"
for i in range(60):
    add("secret.github_token", True, gh(rng.choice(["ghp", "gho", "ghu", "ghs", "ghr"])) if i % 6 else "github_pat_" + rnd(22) + "_" + rnd(59))
for i in range(25):
    t = gh(rng.choice(["ghp", "gho", "ghs"]))
    bad = t[:-1] + ("A" if t[-1] != "A" else "B")
    add("secret.github_token", False, bad, note="CRC32 checksum does not match")
for t in ["ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "ghp_your_token_here", "ghp_", "GITHUB_TOKEN=ghp_...", "ghp_1234", "github_pat_XXXX", "ghx_" + "a1B2" * 9]:
    add("secret.github_token", False, None, text=f"token: {t}", note="placeholder")
for i in range(18):
    add("secret.github_token", False, None, text=rng.choice([f"ghp_{rnd(rng.choice([20, 30, 35]))} (truncated)", f"branch ghp_fix_{rng.choice(['login','cache','ui'])}_{digits(3)}", f"函数 ghs_{rng.choice(['parse','load'])}Config 的说明"]), note="wrong length")

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
for i in range(60):
    header = json.dumps({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}, separators=(",", ":")).encode()
    payload = json.dumps({"sub": digits(8), "name": rng.choice(NAMES), "iat": 1700000000 + rng.randint(0, 9999999)}, separators=(",", ":")).encode()
    sig = bytes(rng.randrange(256) for _ in range(32))
    add("secret.jwt", True, f"{b64u(header)}.{b64u(payload)}.{b64u(sig)}")
for i in range(25):
    add("secret.jwt", False, None, text=rng.choice([f"prefix eyJ{rnd(10)} only", f"data:eyJ{rnd(30)}.{rnd(20)}", f"eyJub3QganNvbg.{rnd(20)}.{rnd(20)}", f"header eyJhbGciOiJIUzI1NiJ9 alone"]), note="truncated or not a JWT")
for i in range(25):
    add("secret.jwt", False, None, text=rng.choice([f"package com.example.{rng.choice(['api','core'])}.{rng.choice(['Auth','Token'])}", f"file name archive.{digits(4)}.tar.gz", f"域名 api.{rng.choice(['example','test'])}.com.cn 可以访问", f"a.b.c and x.y.z are paths", f"eyJ{rnd(12)}.eyJ{rnd(3)}"]), note="dotted names")

for i in range(60):
    kind = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
    body = base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.randint(120, 600)))).decode()
    lines = "\n".join(body[j:j + 64] for j in range(0, len(body), 64))
    v = f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"
    add("secret.private_key", True, v, text=rng.choice([f"Here is my key:\n{v}\nplease debug", f"服务器私钥如下：\n{v}\n帮我看看为什么连不上", v]))
for i in range(50):
    kind = rng.choice(["PUBLIC KEY", "CERTIFICATE", "CERTIFICATE REQUEST", "RSA PUBLIC KEY", "PGP SIGNATURE"])
    body = base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.randint(80, 300)))).decode()
    lines = "\n".join(body[j:j + 64] for j in range(0, len(body), 64))
    t = rng.choice([f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----", "The file starts with -----BEGIN PRIVATE KEY----- and ends with the END line.", "私钥文件以 -----BEGIN RSA PRIVATE KEY----- 开头，不要上传。", "Never paste your private key into chat.", "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----"])
    add("secret.private_key", False, None, text=t, note="public material or a mention")

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "generated.jsonl"), "w", encoding="utf-8") as f:
    for it in items:
        f.write(json.dumps(it, ensure_ascii=False) + "\n")
print(len(items), "items")
