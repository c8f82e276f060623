// TspBcCheck: Bouncy Castle 1.72 (not gmpki, not OpenSSL) reads a gmpki RFC 3161 response and
// validates its token, for tsp_test.cc. Run in Java source-file mode:
//   java -cp bcprov.jar:bcutil.jar:bcpkix.jar TspBcCheck.java resp.der tsa.der [req.der]
// TimeStampResponse.validate(request) checks status, imprint, nonce and policy against the
// request; TimeStampToken.validate(verifier) checks the ESS signingCertificateV2 binding (SM3
// certHash), the TSA certificate's critical id-kp-timeStamping EKU and the CMS signature with a
// JcaSimpleSignerInfoVerifierBuilder on the BC provider (SM3withSM2, BC's default ID
// 1234567812345678, the GM/T 0009-2012 section 10 ID).
// stdout: one JSON line; exit 0 when every check passes, 1 otherwise, 2 on unreadable input.

import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.Security;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.SignerInformationVerifier;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.tsp.TimeStampRequest;
import org.bouncycastle.tsp.TimeStampResponse;
import org.bouncycastle.tsp.TimeStampToken;
import org.bouncycastle.tsp.TimeStampTokenInfo;
import org.bouncycastle.util.encoders.Hex;

public class TspBcCheck {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: TspBcCheck resp.der tsa.der [req.der]");
      System.exit(2);
    }
    Security.addProvider(new BouncyCastleProvider());
    TimeStampResponse resp = new TimeStampResponse(Files.readAllBytes(Paths.get(args[0])));
    X509CertificateHolder tsa = new X509CertificateHolder(Files.readAllBytes(Paths.get(args[1])));
    if (args.length > 2) {
      TimeStampRequest req = new TimeStampRequest(Files.readAllBytes(Paths.get(args[2])));
      try {
        resp.validate(req);
      } catch (Exception e) {
        System.out.println("{\"ok\":false,\"stage\":\"response\",\"error\":\"" + e + "\"}");
        System.exit(1);
      }
    }
    TimeStampToken token = resp.getTimeStampToken();
    if (token == null) {
      System.out.println("{\"ok\":false,\"status\":" + resp.getStatus() + "}");
      System.exit(1);
    }
    SignerInformationVerifier verifier =
        new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(tsa);
    try {
      token.validate(verifier);
    } catch (Exception e) {
      System.out.println("{\"ok\":false,\"stage\":\"token\",\"error\":\"" + e + "\"}");
      System.exit(1);
    }
    TimeStampTokenInfo info = token.getTimeStampInfo();
    StringBuilder out = new StringBuilder("{\"ok\":true");
    out.append(",\"serial\":\"").append(info.getSerialNumber().toString(16)).append('"');
    out.append(",\"policy\":\"").append(info.getPolicy().getId()).append('"');
    out.append(",\"genTimeMs\":").append(info.getGenTime().getTime());
    out.append(",\"hashAlg\":\"").append(info.getMessageImprintAlgOID().getId()).append('"');
    out.append(",\"imprint\":\"")
        .append(Hex.toHexString(info.getMessageImprintDigest()))
        .append('"');
    if (info.getNonce() != null) {
      out.append(",\"nonce\":\"").append(info.getNonce().toString(16)).append('"');
    }
    if (info.getGenTimeAccuracy() != null) {
      out.append(",\"accuracy\":\"")
          .append(info.getGenTimeAccuracy().getSeconds())
          .append(':')
          .append(info.getGenTimeAccuracy().getMillis())
          .append(':')
          .append(info.getGenTimeAccuracy().getMicros())
          .append('"');
    }
    out.append(",\"certs\":").append(token.getCertificates().getMatches(null).size());
    out.append('}');
    System.out.println(out);
  }
}
