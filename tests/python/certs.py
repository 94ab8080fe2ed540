"""Test certificates made at test time with the openssl CLI: CAs, and certificates they sign
(with a subjectAltName, and with validity dates in the past for expired ones)."""
import os
import subprocess


def _ssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    _ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
         cwd=d)
    with open(os.path.join(d, f"{name}.cnf"), "w") as f:
        f.write(f"""[ca]
default_ca = ca_section
[ca_section]
dir = {d}
database = {d}/{name}.index
new_certs_dir = {d}
serial = {d}/{name}.serial
default_md = sha256
policy = policy_any
copy_extensions = copy
unique_subject = no
[policy_any]
commonName = supplied
""")
    open(os.path.join(d, f"{name}.index"), "w").close()
    with open(os.path.join(d, f"{name}.serial"), "w") as f:
        f.write("1000\n")
    return os.path.join(d, f"{name}.pem")


def issue(d, ca, name, san=None, start="", end=""):
    """A key and certificate `name` signed by CA `ca`; `start`/`end` as YYYYMMDDHHMMSSZ."""
    req = ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}"]
    if san:
        req += ["-addext", f"subjectAltName={san}"]
    _ssl(*req, cwd=d)
    dates = ["-startdate", start, "-enddate", end] if start else ["-days", "2"]
    _ssl("ca", "-batch", "-notext", "-config", f"{ca}.cnf", "-cert", f"{ca}.pem", "-keyfile",
         f"{ca}.key", "-in", f"{name}.csr", "-out", f"{name}.pem", *dates, cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")
