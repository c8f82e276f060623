// OcspBcCheck: Bouncy Castle 1.72 (not gmpki, not OpenSSL) reads a gmpki OCSP response and
// checks its SM2 signature, for ocsp_test.cc. Run in Java source-file mode:
//   java -cp bcprov.jar:bcutil.jar:bcpkix.jar OcspBcCheck.java resp.der ca.der
// The response must carry the delegated signer's certificate; that certificate's signature is
// checked with the CA certificate's key, and the response's signature with the signer's key,
// once through JcaContentVerifierProviderBuilder (SM3withSM2, BC's default ID 1234567812345678)
// and once through SM2Signer with the GM/T ID passed explicitly (GM/T 0009-2012 section 10).
// stdout: one JSON line; exit 0 when every check passes, 1 otherwise, 2 on unreadable input.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.Security;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ParametersWithID;
import org.bouncycastle.crypto.signers.SM2Signer;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.util.encoders.Hex;

public class OcspBcCheck {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: OcspBcCheck resp.der ca.der");
      System.exit(2);
    }
    Security.addProvider(new BouncyCastleProvider());
    OCSPResp resp = new OCSPResp(Files.readAllBytes(Paths.get(args[0])));
    X509CertificateHolder ca = new X509CertificateHolder(Files.readAllBytes(Paths.get(args[1])));
    if (resp.getStatus() != OCSPResp.SUCCESSFUL) {
      System.out.println("{\"ok\":false,\"status\":" + resp.getStatus() + "}");
      System.exit(1);
    }
    BasicOCSPResp basic = (BasicOCSPResp) resp.getResponseObject();
    X509CertificateHolder signer = basic.getCerts()[0];
    JcaContentVerifierProviderBuilder jca =
        new JcaContentVerifierProviderBuilder().setProvider("BC");
    boolean signerIssuedByCa = signer.isSignatureValid(jca.build(ca));
    boolean jcaValid = basic.isSignatureValid(jca.build(signer));

    AsymmetricKeyParameter key = PublicKeyFactory.createKey(signer.getSubjectPublicKeyInfo());
    SM2Signer sm2 = new SM2Signer();
    byte[] id = "1234567812345678".getBytes(StandardCharsets.US_ASCII);
    sm2.init(false, new ParametersWithID(key, id));
    byte[] tbs = basic.getTBSResponseData();
    sm2.update(tbs, 0, tbs.length);
    boolean explicitIdValid = sm2.verifySignature(basic.getSignature());

    ExtendedKeyUsage eku = ExtendedKeyUsage.fromExtensions(signer.getExtensions());
    boolean ocspSigning = eku != null && eku.hasKeyPurposeId(KeyPurposeId.id_kp_OCSPSigning);
    boolean noCheck = signer.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nocheck) != null;

    StringBuilder statuses = new StringBuilder();
    for (SingleResp r : basic.getResponses()) {
      CertificateStatus cs = r.getCertStatus();
      String s;
      if (cs == CertificateStatus.GOOD) {
        s = "good";
      } else if (cs instanceof RevokedStatus) {
        RevokedStatus rs = (RevokedStatus) cs;
        s = "revoked:" + rs.getRevocationTime().getTime() / 1000 + ":"
            + (rs.hasRevocationReason() ? rs.getRevocationReason() : -1);
      } else if (cs instanceof UnknownStatus) {
        s = "unknown";
      } else {
        s = "?";
      }
      if (statuses.length() > 0) statuses.append(',');
      statuses.append('"').append(s).append(':')
          .append(r.getCertID().getSerialNumber().toString(16)).append('"');
    }
    Extension nonceExt = basic.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
    String nonce = nonceExt == null ? ""
        : Hex.toHexString(ASN1OctetString.getInstance(nonceExt.getParsedValue()).getOctets());
    boolean ok = signerIssuedByCa && jcaValid && explicitIdValid && ocspSigning && noCheck;
    System.out.println("{\"ok\":" + ok + ",\"signerIssuedByCa\":" + signerIssuedByCa
        + ",\"jcaValid\":" + jcaValid + ",\"explicitIdValid\":" + explicitIdValid
        + ",\"ocspSigning\":" + ocspSigning + ",\"noCheck\":" + noCheck
        + ",\"producedAt\":" + basic.getProducedAt().getTime() / 1000
        + ",\"nonce\":\"" + nonce + "\",\"statuses\":[" + statuses + "]}");
    System.exit(ok ? 0 : 1);
  }
}
