// BcVerify: an independent SM2 verifier for gmpki's interop tests, built on Bouncy Castle.
//
// Why it exists: OpenSSL 3.0 uses an empty SM2 distinguishing ID by default and has no way to
// set one for CRLs, OCSP, CMS or the intermediate certificates of a chain (shared
// STANDARDS-NOTES.md §8.1). GM/T 0015 objects are signed with e = SM3(Z_A || M) where Z_A is
// computed with the issuer's key and the ID "1234567812345678" (GM/T 0009-2012 §10,
// STANDARDS-NOTES §1.2). This tool checks every signature with that ID, passed explicitly, using
// BC's SM2Signer, which is not gmpki code and not OpenSSL code.
//
// Exit status: 0 verified, 1 verification failed, 2 bad usage or unreadable input.
// stdout: one line of JSON; stderr: the reason on failure.

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Security;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.bouncycastle.asn1.ASN1BitString;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Enumerated;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Null;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.gm.GMNamedCurves;
import org.bouncycastle.asn1.gm.GMObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Certificate;
import org.bouncycastle.asn1.x509.CertificateList;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.TBSCertList;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.cmp.GeneralPKIMessage;
import org.bouncycastle.cert.cmp.ProtectedPKIMessage;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.params.ParametersWithID;
import org.bouncycastle.crypto.signers.SM2Signer;
import org.bouncycastle.jcajce.spec.SM2ParameterSpec;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentVerifier;
import org.bouncycastle.operator.ContentVerifierProvider;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.util.encoders.Hex;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

public final class BcVerify {
  // GM/T 0009-2012 §10 default user ID; also BC SM2Signer's default (we still pass it explicitly).
  static final String kGmDefaultId = "1234567812345678";
  static final ASN1ObjectIdentifier kSm2WithSm3 = GMObjectIdentifiers.sm2sign_with_sm3;  // .501
  static final ASN1ObjectIdentifier kSm2Curve = GMObjectIdentifiers.sm2p256v1;  // .301
  static final int kMaxPathLength = 16;

  /** A check failed: the object is not valid. Exit 1. */
  static final class VerifyException extends Exception {
    private static final long serialVersionUID = 1L;
    VerifyException(String m) { super(m); }
  }

  /** Bad command line or unreadable input. Exit 2. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;
    UsageException(String m) { super(m); }
  }

  // ---------------------------------------------------------------- command line

  static final class Args {
    final Map<String, List<String>> opts = new HashMap<>();
    final List<String> positional = new ArrayList<>();

    static Args parse(String[] argv, int from, Set<String> valued, Set<String> flags)
        throws UsageException {
      Args a = new Args();
      for (int i = from; i < argv.length; i++) {
        String s = argv[i];
        if (s.startsWith("--") && s.length() > 2) {
          if (flags.contains(s)) {
            a.opts.computeIfAbsent(s, k -> new ArrayList<>()).add("");
          } else if (valued.contains(s)) {
            if (i + 1 >= argv.length) throw new UsageException(s + " needs a value");
            a.opts.computeIfAbsent(s, k -> new ArrayList<>()).add(argv[++i]);
          } else {
            throw new UsageException("unknown option " + s);
          }
        } else {
          a.positional.add(s);
        }
      }
      return a;
    }

    List<String> all(String k) { return opts.getOrDefault(k, List.of()); }
    boolean has(String k) { return opts.containsKey(k); }

    String one(String k) throws UsageException {
      List<String> v = all(k);
      if (v.size() != 1) throw new UsageException("exactly one " + k + " is required");
      return v.get(0);
    }

    String single(String what) throws UsageException {
      if (positional.size() != 1) throw new UsageException("exactly one " + what + " is required");
      return positional.get(0);
    }

    /** The SM2 distinguishing ID: --id STRING or --hex-id HEX; GM/T default otherwise. */
    byte[] id() throws UsageException {
      if (has("--id") && has("--hex-id")) throw new UsageException("--id and --hex-id conflict");
      if (has("--hex-id")) {
        try {
          return Hex.decodeStrict(one("--hex-id"));
        } catch (RuntimeException e) {
          throw new UsageException("--hex-id is not hex");
        }
      }
      return (has("--id") ? one("--id") : kGmDefaultId).getBytes(StandardCharsets.UTF_8);
    }
  }

  // ---------------------------------------------------------------- input

  /** All DER objects in a file: every PEM block if the file is PEM, else the file itself. */
  static List<byte[]> readObjects(String path) throws UsageException {
    byte[] raw;
    try {
      raw = Files.readAllBytes(Paths.get(path));
    } catch (IOException e) {
      throw new UsageException("cannot read " + path + ": " + e.getMessage());
    }
    String head = new String(raw, 0, Math.min(raw.length, 4096), StandardCharsets.ISO_8859_1);
    List<byte[]> out = new ArrayList<>();
    if (head.contains("-----BEGIN ")) {
      try (PemReader r = new PemReader(
               new InputStreamReader(new ByteArrayInputStream(raw), StandardCharsets.US_ASCII))) {
        PemObject o;
        while ((o = r.readPemObject()) != null) out.add(o.getContent());
      } catch (IOException | RuntimeException e) {
        throw new UsageException("bad PEM in " + path + ": " + e.getMessage());
      }
      if (out.isEmpty()) throw new UsageException("no PEM object in " + path);
    } else {
      out.add(raw);
    }
    return out;
  }

  static byte[] readOne(String path) throws UsageException {
    List<byte[]> objs = readObjects(path);
    if (objs.size() != 1) throw new UsageException(path + " holds " + objs.size() + " objects");
    return objs.get(0);
  }

  // ---------------------------------------------------------------- raw DER split

  /**
   * A signed object SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING } split on its original bytes.
   * The signature covers the tbs bytes exactly as received: re-encoding (what OpenSSL's
   * i2d_re_X509_CRL_tbs does, STANDARDS-NOTES §8.2) would hide a non-DER producer.
   */
  static final class Signed {
    byte[] tbs;
    AlgorithmIdentifier alg;
    byte[] algRaw;
    byte[] signature;  // the BIT STRING content: DER SM2Signature SEQUENCE { r, s }
  }

  /** Returns {headerLength, contentLength} for the TLV at off; definite lengths only. */
  static int[] tlv(byte[] b, int off, int end, String what) throws VerifyException {
    if (off + 2 > end) throw new VerifyException(what + ": truncated DER");
    if ((b[off] & 0x1f) == 0x1f) throw new VerifyException(what + ": high tag number");
    int len = b[off + 1] & 0xff;
    int hdr = 2;
    if (len == 0x80) throw new VerifyException(what + ": indefinite length is not DER");
    if (len > 0x80) {
      int n = len & 0x7f;
      if (n > 4 || off + 2 + n > end) throw new VerifyException(what + ": bad length");
      len = 0;
      for (int i = 0; i < n; i++) len = (len << 8) | (b[off + 2 + i] & 0xff);
      if (len < 0) throw new VerifyException(what + ": bad length");
      hdr += n;
    }
    if ((long) off + hdr + len > end) throw new VerifyException(what + ": truncated DER");
    return new int[] {hdr, len};
  }

  static Signed split(byte[] der, String what) throws VerifyException {
    if (der.length < 2 || der[0] != 0x30) throw new VerifyException(what + ": not a SEQUENCE");
    int[] outer = tlv(der, 0, der.length, what);
    if (outer[0] + outer[1] != der.length) {
      throw new VerifyException(what + ": trailing bytes after the outer SEQUENCE");
    }
    int end = der.length;
    int p = outer[0];
    byte[][] parts = new byte[3][];
    for (int i = 0; i < 3; i++) {
      if (p >= end) throw new VerifyException(what + ": fewer than 3 elements in signed object");
      int[] t = tlv(der, p, end, what);
      parts[i] = Arrays.copyOfRange(der, p, p + t[0] + t[1]);
      p += t[0] + t[1];
    }
    if (p != end) throw new VerifyException(what + ": more than 3 elements in signed object");
    if (parts[2][0] != 0x03) throw new VerifyException(what + ": signature is not a BIT STRING");
    Signed s = new Signed();
    s.tbs = parts[0];
    s.algRaw = parts[1];
    try {
      s.alg = AlgorithmIdentifier.getInstance(ASN1Primitive.fromByteArray(parts[1]));
      ASN1BitString bits = ASN1BitString.getInstance(ASN1Primitive.fromByteArray(parts[2]));
      if (bits.getPadBits() != 0) throw new VerifyException(what + ": signature has pad bits");
      s.signature = bits.getOctets();
    } catch (IOException | RuntimeException e) {
      throw new VerifyException(what + ": bad AlgorithmIdentifier or BIT STRING: "
          + e.getMessage());
    }
    checkSigAlg(s.alg, what);
    return s;
  }

  /** GM/T 0015 / STANDARDS-NOTES §1.3: OID 1.2.156.10197.1.501, parameters absent or NULL. */
  static void checkSigAlg(AlgorithmIdentifier a, String what) throws VerifyException {
    if (!kSm2WithSm3.equals(a.getAlgorithm())) {
      throw new VerifyException(what + ": signature algorithm " + a.getAlgorithm()
          + " is not SM2-with-SM3 (" + kSm2WithSm3 + ")");
    }
    ASN1Encodable p = a.getParameters();
    if (p != null && !(p instanceof ASN1Null)) {
      throw new VerifyException(what + ": SM2-with-SM3 parameters must be absent or NULL");
    }
  }

  // ---------------------------------------------------------------- SM2

  /** SPKI -> SM2 public key: id-ecPublicKey + sm2p256v1, or (GM/T 0015-2023) alg = sm2 itself. */
  static ECPublicKeyParameters sm2Key(SubjectPublicKeyInfo spki, String what)
      throws VerifyException {
    ASN1ObjectIdentifier alg = spki.getAlgorithm().getAlgorithm();
    ASN1Encodable p = spki.getAlgorithm().getParameters();
    boolean ecForm = X9ObjectIdentifiers.id_ecPublicKey.equals(alg) && kSm2Curve.equals(p);
    boolean sm2Form = kSm2Curve.equals(alg)
        && (p == null || p instanceof ASN1Null || kSm2Curve.equals(p));
    if (!ecForm && !sm2Form) {
      throw new VerifyException(what + ": public key is not an SM2 key (alg " + alg + ")");
    }
    ASN1BitString bits = spki.getPublicKeyData();
    if (bits.getPadBits() != 0) throw new VerifyException(what + ": public key has pad bits");
    X9ECParameters x9 = GMNamedCurves.getByOID(kSm2Curve);
    try {
      // The ECPublicKeyParameters constructor validates the point (on curve, not infinity).
      return new ECPublicKeyParameters(x9.getCurve().decodePoint(bits.getOctets()),
          new ECDomainParameters(x9));
    } catch (RuntimeException e) {
      throw new VerifyException(what + ": invalid SM2 public point: " + e.getMessage());
    }
  }

  /** SM2 verify of data with Z computed from key and id (GB/T 32918.2 §6.1 / §7.1). */
  static boolean sm2Verify(ECPublicKeyParameters key, byte[] id, byte[] data, byte[] sig) {
    try {
      SM2Signer s = new SM2Signer();  // SM3 digest, DER SEQUENCE { r, s } encoding
      s.init(false, new ParametersWithID(key, id));
      s.update(data, 0, data.length);
      return s.verifySignature(sig);
    } catch (RuntimeException e) {
      return false;
    }
  }

  static String idText(byte[] id) {
    for (byte b : id) {
      if (b < 0x20 || b > 0x7e) return "hex:" + Hex.toHexString(id);
    }
    return new String(id, StandardCharsets.US_ASCII);
  }

  // ---------------------------------------------------------------- certificates

  static final class Cert {
    String label;
    byte[] der;
    Signed signed;
    Certificate c;
    ECPublicKeyParameters key;

    X500Name subject() { return c.getSubject(); }
    X500Name issuer() { return c.getIssuer(); }
    Extensions ext() { return c.getTBSCertificate().getExtensions(); }
    boolean selfIssued() { return subject().equals(issuer()); }
  }

  static Cert parseCert(byte[] der, String label) throws VerifyException {
    Cert k = new Cert();
    k.der = der;
    k.signed = split(der, label);
    try {
      k.c = Certificate.getInstance(ASN1Primitive.fromByteArray(der));
    } catch (IOException | RuntimeException e) {
      throw new VerifyException(label + ": not an X.509 certificate: " + e.getMessage());
    }
    k.label = label + " (" + k.subject() + ")";
    // RFC 5280 §4.1.1.2: signatureAlgorithm must equal tbsCertificate.signature.
    if (!Arrays.equals(encoded(k.c.getTBSCertificate().getSignature()), k.signed.algRaw)) {
      throw new VerifyException(k.label + ": signatureAlgorithm differs from tbs signature field");
    }
    k.key = sm2Key(k.c.getSubjectPublicKeyInfo(), k.label);
    return k;
  }

  static List<Cert> loadCerts(List<String> paths, String role) throws UsageException,
      VerifyException {
    List<Cert> out = new ArrayList<>();
    for (String p : paths) {
      List<byte[]> objs = readObjects(p);
      for (int i = 0; i < objs.size(); i++) {
        out.add(parseCert(objs.get(i), role + " " + p + (objs.size() > 1 ? "#" + i : "")));
      }
    }
    return out;
  }

  static byte[] encoded(ASN1Encodable o) {
    try {
      return o.toASN1Primitive().getEncoded("DER");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static Date atTime(Args a) throws UsageException {
    if (!a.has("--at")) return new Date();
    try {
      return new Date(Long.parseLong(a.one("--at")) * 1000L);
    } catch (NumberFormatException e) {
      throw new UsageException("--at takes unix seconds");
    }
  }

  static String iso(Date d) {
    return d == null ? null : Instant.ofEpochMilli(d.getTime()).toString();
  }

  static void checkValidity(Cert k, Date at) throws VerifyException {
    Date nb = k.c.getStartDate().getDate();
    Date na = k.c.getEndDate().getDate();
    if (at.before(nb)) {
      throw new VerifyException(k.label + " is not yet valid at " + iso(at) + " (notBefore "
          + iso(nb) + ")");
    }
    if (at.after(na)) {
      throw new VerifyException(k.label + " has expired at " + iso(at) + " (notAfter " + iso(na)
          + ")");
    }
  }

  // Extensions this verifier understands; an unknown critical one fails (RFC 5280 §6.1.4 (o)).
  static final Set<ASN1ObjectIdentifier> kKnownCertExt = Set.of(Extension.basicConstraints,
      Extension.keyUsage, Extension.extendedKeyUsage, Extension.subjectKeyIdentifier,
      Extension.authorityKeyIdentifier, Extension.subjectAlternativeName,
      Extension.issuerAlternativeName, Extension.cRLDistributionPoints,
      Extension.certificatePolicies, Extension.authorityInfoAccess, Extension.freshestCRL);

  static void checkCriticalExtensions(Extensions ext, Set<ASN1ObjectIdentifier> known,
      String label) throws VerifyException {
    if (ext == null) return;
    for (ASN1ObjectIdentifier oid : ext.getCriticalExtensionOIDs()) {
      if (!known.contains(oid)) {
        throw new VerifyException(label + ": unsupported critical extension " + oid);
      }
    }
  }

  static KeyUsage keyUsage(Extensions ext) {
    return ext == null ? null : KeyUsage.fromExtensions(ext);
  }

  /** CA checks of RFC 5280 §6.1.4 (k), (l), (m), (n) for an issuer at path index i. */
  static void checkIssuer(List<Cert> path, int i) throws VerifyException {
    Cert ca = path.get(i);
    BasicConstraints bc = ca.ext() == null ? null : BasicConstraints.fromExtensions(ca.ext());
    if (bc == null || !bc.isCA()) {
      throw new VerifyException(ca.label + " issues certificates but basicConstraints cA is not "
          + "true");
    }
    KeyUsage ku = keyUsage(ca.ext());
    if (ku != null && !ku.hasUsages(KeyUsage.keyCertSign)) {
      throw new VerifyException(ca.label + " issues certificates but keyUsage lacks keyCertSign");
    }
    BigInteger pathLen = bc.getPathLenConstraint();
    if (pathLen != null) {
      int below = 0;  // non-self-issued intermediates between this CA and the leaf
      for (int j = 1; j < i; j++) {
        if (!path.get(j).selfIssued()) below++;
      }
      if (BigInteger.valueOf(below).compareTo(pathLen) > 0) {
        throw new VerifyException(ca.label + " has pathLenConstraint " + pathLen + " but " + below
            + " intermediate CA(s) follow it");
      }
    }
  }

  static byte[] aki(Cert k) {
    if (k.ext() == null) return null;
    AuthorityKeyIdentifier a = AuthorityKeyIdentifier.fromExtensions(k.ext());
    return a == null ? null : a.getKeyIdentifier();
  }

  static byte[] ski(Cert k) {
    if (k.ext() == null) return null;
    SubjectKeyIdentifier s = SubjectKeyIdentifier.fromExtensions(k.ext());
    return s == null ? null : s.getKeyIdentifier();
  }

  /** Builds leaf..anchor by name (and key identifier) chaining, each hop signature-checked. */
  static List<Cert> buildPath(Cert leaf, List<Cert> anchors, List<Cert> untrusted, byte[] id)
      throws VerifyException {
    List<Cert> path = new ArrayList<>();
    path.add(leaf);
    Cert cur = leaf;
    while (true) {
      for (Cert a : anchors) {
        if (Arrays.equals(a.der, cur.der)) return path;  // reached a trust anchor
      }
      if (path.size() > kMaxPathLength) {
        throw new VerifyException("path longer than " + kMaxPathLength);
      }
      List<Cert> candidates = new ArrayList<>(anchors);
      candidates.addAll(untrusted);
      Cert found = null;
      boolean nameMatched = false;
      for (Cert cand : candidates) {
        if (path.contains(cand) || !cand.subject().equals(cur.issuer())) continue;
        byte[] want = aki(cur);
        byte[] have = ski(cand);
        if (want != null && have != null && !Arrays.equals(want, have)) continue;
        nameMatched = true;
        if (sm2Verify(cand.key, id, cur.signed.tbs, cur.signed.signature)) {
          found = cand;
          break;
        }
      }
      if (found == null) {
        if (nameMatched) {
          throw new VerifyException("signature of " + cur.label + " does not verify (SM3withSM2, "
              + "ID \"" + idText(id) + "\") with the key of its issuer " + cur.issuer());
        }
        throw new VerifyException("no issuer for " + cur.label + ": \"" + cur.issuer()
            + "\" is neither an anchor nor among the untrusted certificates");
      }
      path.add(found);
      cur = found;
    }
  }

  // ---------------------------------------------------------------- CRLs

  static final class Crl {
    String label;
    Signed signed;
    CertificateList cl;
  }

  static Crl parseCrl(byte[] der, String label) throws VerifyException {
    Crl r = new Crl();
    r.label = label;
    r.signed = split(der, label);
    try {
      r.cl = CertificateList.getInstance(ASN1Primitive.fromByteArray(der));
    } catch (IOException | RuntimeException e) {
      throw new VerifyException(label + ": not an X.509 CRL: " + e.getMessage());
    }
    if (!Arrays.equals(encoded(r.cl.getTBSCertList().getSignature()), r.signed.algRaw)) {
      throw new VerifyException(label + ": signatureAlgorithm differs from tbs signature field");
    }
    return r;
  }

  static final Set<ASN1ObjectIdentifier> kKnownCrlExt = Set.of(Extension.authorityKeyIdentifier,
      Extension.issuerAlternativeName, Extension.cRLNumber, Extension.deltaCRLIndicator,
      Extension.issuingDistributionPoint, Extension.freshestCRL, Extension.authorityInfoAccess);

  /** Signature with the issuer key and ID, issuer name match, cRLSign (RFC 5280 §6.3.3 (f)). */
  static void checkCrlSignature(Crl r, Cert issuer, byte[] id) throws VerifyException {
    if (!r.cl.getIssuer().equals(issuer.subject())) {
      throw new VerifyException(r.label + ": CRL issuer \"" + r.cl.getIssuer() + "\" is not \""
          + issuer.subject() + "\"");
    }
    KeyUsage ku = keyUsage(issuer.ext());
    if (ku != null && !ku.hasUsages(KeyUsage.cRLSign)) {
      throw new VerifyException(r.label + ": issuer " + issuer.label + " lacks keyUsage cRLSign");
    }
    if (!sm2Verify(issuer.key, id, r.signed.tbs, r.signed.signature)) {
      throw new VerifyException(r.label + ": CRL signature does not verify (SM3withSM2, ID \""
          + idText(id) + "\") with the key of " + issuer.label);
    }
    checkCriticalExtensions(r.cl.getTBSCertList().getExtensions(), kKnownCrlExt, r.label);
  }

  static BigInteger extInteger(Extensions ext, ASN1ObjectIdentifier oid) {
    if (ext == null || ext.getExtension(oid) == null) return null;
    return ASN1Integer.getInstance(ext.getExtensionParsedValue(oid)).getValue();
  }

  static final String[] kReasons = {"unspecified", "keyCompromise", "cACompromise",
      "affiliationChanged", "superseded", "cessationOfOperation", "certificateHold", "unused7",
      "removeFromCRL", "privilegeWithdrawn", "aACompromise"};

  static String reason(TBSCertList.CRLEntry e) {
    Extensions x = e.getExtensions();
    if (x == null || x.getExtension(Extension.reasonCode) == null) return "unspecified";
    int v = ASN1Enumerated.getInstance(x.getExtensionParsedValue(Extension.reasonCode))
        .intValueExact();
    return v >= 0 && v < kReasons.length ? kReasons[v] : "reason" + v;
  }

  // ---------------------------------------------------------------- commands

  static Map<String, Object> cmdChain(String[] argv) throws Exception {
    Args a = Args.parse(argv, 1, Set.of("--anchor", "--untrusted", "--crl", "--at", "--id",
        "--hex-id"), Set.of());
    byte[] id = a.id();
    Date at = atTime(a);
    if (a.all("--anchor").isEmpty()) throw new UsageException("--anchor is required");
    List<Cert> anchors = loadCerts(a.all("--anchor"), "anchor");
    List<Cert> untrusted = loadCerts(a.all("--untrusted"), "untrusted");
    String leafPath = a.single("leaf certificate");
    Cert leaf = parseCert(readOne(leafPath), "leaf " + leafPath);

    List<Cert> path = buildPath(leaf, anchors, untrusted, id);
    Cert anchor = path.get(path.size() - 1);
    // OpenSSL 3.0 cannot check a root's self-signature with the ID (-check_ss_sig); we do.
    if (anchor.selfIssued()
        && !sm2Verify(anchor.key, id, anchor.signed.tbs, anchor.signed.signature)) {
      throw new VerifyException("self-signature of anchor " + anchor.label + " does not verify "
          + "(SM3withSM2, ID \"" + idText(id) + "\")");
    }
    for (int i = 0; i < path.size(); i++) {
      Cert k = path.get(i);
      checkValidity(k, at);
      checkCriticalExtensions(k.ext(), kKnownCertExt, k.label);
      if (i > 0) checkIssuer(path, i);
    }

    int crlCount = 0;
    for (String p : a.all("--crl")) {
      for (byte[] der : readObjects(p)) {
        Crl r = parseCrl(der, "crl " + p);
        int issuerIdx = -1;
        for (int i = 0; i < path.size(); i++) {
          if (path.get(i).subject().equals(r.cl.getIssuer())) {
            issuerIdx = i;
            break;
          }
        }
        if (issuerIdx < 0) {
          throw new VerifyException(r.label + ": CRL issuer \"" + r.cl.getIssuer()
              + "\" is not a CA in the validated path");
        }
        checkCrlSignature(r, path.get(issuerIdx), id);
        Date thisUpdate = r.cl.getThisUpdate().getDate();
        if (at.before(thisUpdate)) {
          throw new VerifyException(r.label + ": CRL not yet valid at " + iso(at));
        }
        if (r.cl.getNextUpdate() != null && at.after(r.cl.getNextUpdate().getDate())) {
          throw new VerifyException(r.label + ": CRL is stale at " + iso(at) + " (nextUpdate "
              + iso(r.cl.getNextUpdate().getDate()) + ")");
        }
        if (issuerIdx == 0) continue;  // a CRL by the leaf (a CA leaf) covers nothing in the path
        Cert covered = path.get(issuerIdx - 1);
        BigInteger serial = covered.c.getSerialNumber().getValue();
        for (TBSCertList.CRLEntry e : r.cl.getRevokedCertificates()) {
          if (!e.getUserCertificate().getValue().equals(serial)) continue;
          String why = reason(e);
          if (why.equals("removeFromCRL")) continue;  // delta CRL un-hold (RFC 5280 §5.3.1)
          throw new VerifyException(covered.label + " serial " + serial.toString(16)
              + " is revoked (reason " + why + ", since " + iso(e.getRevocationDate().getDate())
              + ") per " + r.label);
        }
        crlCount++;
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    List<Object> names = new ArrayList<>();
    for (Cert k : path) names.add(k.subject().toString());
    out.put("path", names);
    out.put("depth", path.size());
    out.put("crls_checked", crlCount);
    out.put("at", iso(at));
    out.put("id", idText(id));
    return out;
  }

  static Map<String, Object> cmdCrl(String[] argv) throws Exception {
    Args a = Args.parse(argv, 1, Set.of("--issuer", "--id", "--hex-id"), Set.of());
    byte[] id = a.id();
    String issuerPath = a.one("--issuer");
    Cert issuer = parseCert(readOne(issuerPath), "issuer " + issuerPath);
    String crlPath = a.single("CRL");
    Crl r = parseCrl(readOne(crlPath), "crl " + crlPath);
    checkCrlSignature(r, issuer, id);
    TBSCertList t = r.cl.getTBSCertList();
    BigInteger number = extInteger(t.getExtensions(), Extension.cRLNumber);
    BigInteger base = extInteger(t.getExtensions(), Extension.deltaCRLIndicator);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("issuer", r.cl.getIssuer().toString());
    out.put("number", number == null ? null : number.toString());
    out.put("this_update", iso(r.cl.getThisUpdate().getDate()));
    out.put("next_update",
        r.cl.getNextUpdate() == null ? null : iso(r.cl.getNextUpdate().getDate()));
    out.put("count", r.cl.getRevokedCertificates().length);
    out.put("delta_base", base == null ? null : base.toString());
    out.put("id", idText(id));
    return out;
  }

  static Map<String, Object> cmdCsr(String[] argv) throws Exception {
    Args a = Args.parse(argv, 1, Set.of("--id", "--hex-id"), Set.of());
    byte[] id = a.id();
    String p = a.single("CSR");
    byte[] der = readOne(p);
    Signed s = split(der, "csr " + p);
    CertificationRequest req;
    try {
      req = CertificationRequest.getInstance(ASN1Primitive.fromByteArray(der));
    } catch (IOException | RuntimeException e) {
      throw new VerifyException("csr " + p + ": not a PKCS#10 request: " + e.getMessage());
    }
    ECPublicKeyParameters key = sm2Key(req.getCertificationRequestInfo().getSubjectPublicKeyInfo(),
        "csr " + p);
    // Proof of possession: the request is signed by its own key (RFC 2986 §3, §4.2).
    if (!sm2Verify(key, id, s.tbs, s.signature)) {
      throw new VerifyException("csr " + p + ": self-signature does not verify (SM3withSM2, ID \""
          + idText(id) + "\")");
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("subject", req.getCertificationRequestInfo().getSubject().toString());
    out.put("id", idText(id));
    return out;
  }

  static Map<String, Object> cmdSig(String[] argv) throws Exception {
    Args a = Args.parse(argv, 1, Set.of("--cert", "--in", "--sig", "--id", "--hex-id"),
        Set.of("--jca"));
    if (!a.positional.isEmpty()) throw new UsageException("unexpected " + a.positional.get(0));
    String certPath = a.one("--cert");
    Cert cert = parseCert(readOne(certPath), "cert " + certPath);
    byte[] data;
    try {
      data = Files.readAllBytes(Paths.get(a.one("--in")));
    } catch (IOException e) {
      throw new UsageException("cannot read --in: " + e.getMessage());
    }
    byte[] sig = readOne(a.one("--sig"));
    Map<String, Object> out = new LinkedHashMap<>();
    boolean ok;
    if (a.has("--jca")) {
      // The JCA path: Signature "SM3withSM2" from the BC provider. Without --id/--hex-id no
      // SM2ParameterSpec is set, so this shows what BC's JCA default ID is.
      Security.addProvider(new BouncyCastleProvider());
      PublicKey pk = KeyFactory.getInstance("EC", "BC").generatePublic(
          new X509EncodedKeySpec(encoded(cert.c.getSubjectPublicKeyInfo())));
      java.security.Signature v = java.security.Signature.getInstance("SM3withSM2", "BC");
      if (a.has("--id") || a.has("--hex-id")) v.setParameter(new SM2ParameterSpec(a.id()));
      v.initVerify(pk);
      v.update(data);
      try {
        ok = v.verify(sig);
      } catch (java.security.SignatureException e) {
        ok = false;
      }
      out.put("api", "jca");
      out.put("id", a.has("--id") || a.has("--hex-id") ? idText(a.id()) : "(provider default)");
    } else {
      byte[] id = a.id();
      ok = sm2Verify(cert.key, id, data, sig);
      out.put("api", "SM2Signer");
      out.put("id", idText(id));
    }
    if (!ok) {
      throw new VerifyException("signature does not verify with the key of " + cert.label
          + " (SM3withSM2, ID " + out.get("id") + ")");
    }
    out.put("data_length", data.length);
    return out;
  }

  static Map<String, Object> cmdSigned(String[] argv) throws Exception {
    Args a = Args.parse(argv, 1, Set.of("--issuer", "--id", "--hex-id"), Set.of());
    byte[] id = a.id();
    String issuerPath = a.one("--issuer");
    Cert issuer = parseCert(readOne(issuerPath), "issuer " + issuerPath);
    String p = a.single("signed object");
    Signed s = split(readOne(p), "signed " + p);
    if (!sm2Verify(issuer.key, id, s.tbs, s.signature)) {
      throw new VerifyException("signed " + p + ": signature does not verify (SM3withSM2, ID \""
          + idText(id) + "\") with the key of " + issuer.label);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("tbs_length", s.tbs.length);
    out.put("alg_params", s.alg.getParameters() == null ? "absent" : "NULL");
    out.put("signer", issuer.subject().toString());
    out.put("id", idText(id));
    return out;
  }

  /**
   * cmp: the protection of a CMP PKIMessage (RFC 4210 §5.1.3.3), parsed and checked by bcpkix's
   * ProtectedPKIMessage over its own encoding of ProtectedPart. Without --id/--hex-id the
   * verifier is JcaContentVerifierProviderBuilder's SM3withSM2 (BC's default SM2 ID
   * 1234567812345678); with one, an SM2Signer with that ID behind the same verify() call.
   */
  static Map<String, Object> cmdCmp(String[] argv) throws Exception {
    Args a = Args.parse(argv, 1, Set.of("--cert", "--id", "--hex-id"), Set.of());
    String certPath = a.one("--cert");
    Cert cert = parseCert(readOne(certPath), "cert " + certPath);
    String p = a.single("CMP message");
    GeneralPKIMessage general;
    try {
      general = new GeneralPKIMessage(readOne(p));
    } catch (RuntimeException e) {
      throw new VerifyException(p + ": not a PKIMessage: " + e.getMessage());
    }
    if (!general.hasProtection()) throw new VerifyException(p + ": the message is not protected");
    ProtectedPKIMessage msg = new ProtectedPKIMessage(general);
    if (msg.hasPasswordBasedMacProtection()) {
      throw new VerifyException(p + ": protected by a MAC, not a signature");
    }
    AlgorithmIdentifier alg = general.getHeader().getProtectionAlg();
    if (!kSm2WithSm3.equals(alg.getAlgorithm())) {
      throw new VerifyException(p + ": protectionAlg " + alg.getAlgorithm() + " is not SM2-with-SM3");
    }
    X509CertificateHolder holder = new X509CertificateHolder(cert.c);
    Map<String, Object> out = new LinkedHashMap<>();
    ContentVerifierProvider provider;
    if (a.has("--id") || a.has("--hex-id")) {
      final byte[] id = a.id();
      final ECPublicKeyParameters key = cert.key;
      provider = new ContentVerifierProvider() {
        @Override public boolean hasAssociatedCertificate() { return true; }
        @Override public X509CertificateHolder getAssociatedCertificate() { return holder; }
        @Override public ContentVerifier get(AlgorithmIdentifier verifierAlg) {
          final ByteArrayOutputStream buf = new ByteArrayOutputStream();
          return new ContentVerifier() {
            @Override public AlgorithmIdentifier getAlgorithmIdentifier() { return verifierAlg; }
            @Override public OutputStream getOutputStream() { return buf; }
            @Override public boolean verify(byte[] sig) {
              return sm2Verify(key, id, buf.toByteArray(), sig);
            }
          };
        }
      };
      out.put("api", "SM2Signer");
      out.put("id", idText(id));
    } else {
      Security.addProvider(new BouncyCastleProvider());
      provider = new JcaContentVerifierProviderBuilder().setProvider("BC").build(holder);
      out.put("api", "jca");
      out.put("id", "(provider default)");
    }
    if (!msg.verify(provider)) {
      throw new VerifyException(p + ": protection does not verify with the key of " + cert.label
          + " (SM3withSM2, ID " + out.get("id") + ")");
    }
    out.put("body", general.getBody().getType());
    out.put("sender", general.getHeader().getSender().toString());
    out.put("extra_certs", msg.getCertificates().length);
    return out;
  }

  // ---------------------------------------------------------------- JSON + main

  static String json(Object v) {
    if (v == null) return "null";
    if (v instanceof Number || v instanceof Boolean) return v.toString();
    if (v instanceof List) {
      StringBuilder b = new StringBuilder("[");
      for (Object o : (List<?>) v) b.append(b.length() > 1 ? "," : "").append(json(o));
      return b.append(']').toString();
    }
    if (v instanceof Map) {
      StringBuilder b = new StringBuilder("{");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        b.append(b.length() > 1 ? "," : "").append(json(e.getKey().toString())).append(':')
            .append(json(e.getValue()));
      }
      return b.append('}').toString();
    }
    StringBuilder b = new StringBuilder("\"");
    for (char c : v.toString().toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  static final String kUsage = String.join("\n",
      "usage: bc-verify COMMAND [options]   (inputs PEM or DER; ID defaults to "
          + kGmDefaultId + ")",
      "  chain --anchor root.pem [--untrusted inter.pem ...] leaf.pem [--crl crl.pem ...]"
          + " [--at unix-seconds]",
      "  crl --issuer ca.pem crl.pem",
      "  csr req.pem",
      "  sig --cert cert.pem --in data --sig sig.der [--jca]",
      "  signed --issuer signer.pem file.der",
      "  cmp --cert signer.pem message.der   (signature protection of a CMP PKIMessage)",
      "  every command takes --id STRING or --hex-id HEX to override the SM2 ID");

  public static void main(String[] argv) {
    String cmd = argv.length > 0 ? argv[0] : "";
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("command", cmd);
    int rc;
    try {
      Map<String, Object> fields;
      switch (cmd) {
        case "chain": fields = cmdChain(argv); break;
        case "crl": fields = cmdCrl(argv); break;
        case "csr": fields = cmdCsr(argv); break;
        case "sig": fields = cmdSig(argv); break;
        case "signed": fields = cmdSigned(argv); break;
        case "cmp": fields = cmdCmp(argv); break;
        default: throw new UsageException("unknown command \"" + cmd + "\"\n" + kUsage);
      }
      result.put("verified", true);
      result.putAll(fields);
      rc = 0;
    } catch (VerifyException e) {
      result.put("verified", false);
      result.put("error", e.getMessage());
      System.err.println("bc-verify " + cmd + ": NOT VERIFIED: " + e.getMessage());
      rc = 1;
    } catch (UsageException e) {
      result.put("verified", false);
      result.put("error", e.getMessage());
      System.err.println("bc-verify " + cmd + ": " + e.getMessage());
      rc = 2;
    } catch (Exception e) {
      result.put("verified", false);
      result.put("error", e.toString());
      System.err.println("bc-verify " + cmd + ": unexpected error: " + e);
      rc = 2;
    }
    System.out.println(json(result));
    System.exit(rc);
  }
}
