// Independent check of gmpki's GM/T 0010 EnvelopedData key envelope with Bouncy Castle 1.72
// (Debian libbcprov-java, libbcpkix-java): the ContentInfo is parsed with BC's CMS ASN.1
// classes (whose shape is RFC 5652's, identical on the wire to GM/T 0010 for a key-transport
// recipient), the CEK is decrypted with BC's SM2Engine (C1C3C2) and the ECPrivateKey with BC's
// SM4/CBC/PKCS#7, and the key is read with BC's RFC 5915 ECPrivateKey class.
//
// Run by key_envelope_test.cc in source-file mode:
//   java -cp bcprov.jar:bcutil.jar:bcpkix.jar KeyEnvelopeBcCheck.java FILE RECIPIENT_D_HEX
//        ISSUER_NAME_DER_HEX SERIAL_HEX EXPECTED_D_HEX
// Prints one JSON line; exit 0 when every check passed, 1 with the failed check on stderr.

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;

import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.EncryptedContentInfo;
import org.bouncycastle.asn1.cms.EnvelopedData;
import org.bouncycastle.asn1.cms.IssuerAndSerialNumber;
import org.bouncycastle.asn1.cms.KeyTransRecipientInfo;
import org.bouncycastle.asn1.cms.RecipientInfo;
import org.bouncycastle.asn1.gm.GMNamedCurves;
import org.bouncycastle.asn1.gm.GMObjectIdentifiers;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.engines.SM2Engine;
import org.bouncycastle.crypto.engines.SM4Engine;
import org.bouncycastle.crypto.modes.CBCBlockCipher;
import org.bouncycastle.crypto.paddings.PKCS7Padding;
import org.bouncycastle.crypto.paddings.PaddedBufferedBlockCipher;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.crypto.params.ParametersWithIV;
import org.bouncycastle.util.encoders.Hex;

public final class KeyEnvelopeBcCheck {
  private static void check(boolean ok, String what) {
    if (!ok) {
      System.err.println("check failed: " + what);
      System.out.println("{\"ok\":false,\"failed\":\"" + what + "\"}");
      System.exit(1);
    }
  }

  private static byte[] pad32(BigInteger v) {
    byte[] b = v.toByteArray();
    byte[] out = new byte[32];
    int n = Math.min(b.length, 32);
    System.arraycopy(b, b.length - n, out, 32 - n, n);
    return out;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: KeyEnvelopeBcCheck FILE RECIPIENT_D ISSUER_DER SERIAL EXPECTED_D");
      System.exit(2);
    }
    byte[] der = Files.readAllBytes(Paths.get(args[0]));
    BigInteger recipientD = new BigInteger(1, Hex.decode(args[1]));
    byte[] issuerDer = Hex.decode(args[2]);
    BigInteger serial = new BigInteger(1, Hex.decode(args[3]));
    byte[] expectedD = Hex.decode(args[4]);

    ContentInfo ci = ContentInfo.getInstance(ASN1Primitive.fromByteArray(der));
    check(ci.getContentType().getId().equals("1.2.156.10197.6.1.4.2.3"), "contentType");
    EnvelopedData ed = EnvelopedData.getInstance(ci.getContent());
    check(ed.getVersion().getValue().intValue() == 1, "EnvelopedData version 1");
    check(ed.getOriginatorInfo() == null && ed.getUnprotectedAttrs() == null, "no extras");
    check(ed.getRecipientInfos().size() == 1, "one RecipientInfo");
    RecipientInfo ri = RecipientInfo.getInstance(ed.getRecipientInfos().getObjectAt(0));
    check(ri.getInfo() instanceof KeyTransRecipientInfo, "key transport recipient");
    KeyTransRecipientInfo ktri = (KeyTransRecipientInfo) ri.getInfo();
    check(ktri.getVersion().getValue().intValue() == 1, "RecipientInfo version 1");
    IssuerAndSerialNumber ias =
        IssuerAndSerialNumber.getInstance(ktri.getRecipientIdentifier().getId());
    check(Arrays.equals(ias.getName().getEncoded("DER"), issuerDer), "issuer name");
    check(ias.getSerialNumber().getValue().equals(serial), "serial number");
    AlgorithmIdentifier kea = ktri.getKeyEncryptionAlgorithm();
    check(kea.getAlgorithm().getId().equals("1.2.156.10197.1.301.3"), "sm2encrypt 301.3");
    check(DERNull.INSTANCE.equals(kea.getParameters()), "keyEncryptionAlgorithm NULL params");

    // encryptedKey: GM/T 0009 SM2Cipher { x, y, HASH, CipherText } -> 04||x||y||C3||C2.
    ASN1Sequence sm2c = ASN1Sequence.getInstance(ktri.getEncryptedKey().getOctets());
    check(sm2c.size() == 4, "SM2Cipher has 4 fields");
    byte[] x = pad32(ASN1Integer.getInstance(sm2c.getObjectAt(0)).getPositiveValue());
    byte[] y = pad32(ASN1Integer.getInstance(sm2c.getObjectAt(1)).getPositiveValue());
    byte[] c3 = ASN1OctetString.getInstance(sm2c.getObjectAt(2)).getOctets();
    byte[] c2 = ASN1OctetString.getInstance(sm2c.getObjectAt(3)).getOctets();
    check(c3.length == 32, "HASH 32 bytes");
    byte[] raw = new byte[1 + 64 + 32 + c2.length];
    raw[0] = 4;
    System.arraycopy(x, 0, raw, 1, 32);
    System.arraycopy(y, 0, raw, 33, 32);
    System.arraycopy(c3, 0, raw, 65, 32);
    System.arraycopy(c2, 0, raw, 97, c2.length);
    X9ECParameters curve = GMNamedCurves.getByName("sm2p256v1");
    ECDomainParameters dom =
        new ECDomainParameters(curve.getCurve(), curve.getG(), curve.getN(), curve.getH());
    SM2Engine sm2 = new SM2Engine(SM2Engine.Mode.C1C3C2);
    sm2.init(false, new ECPrivateKeyParameters(recipientD, dom));
    byte[] cek = sm2.processBlock(raw, 0, raw.length);
    check(cek.length == 16, "CEK is 16 bytes");

    EncryptedContentInfo eci = ed.getEncryptedContentInfo();
    check(eci.getContentType().getId().equals("1.2.156.10197.6.1.4.2.1"), "data content type");
    AlgorithmIdentifier cea = eci.getContentEncryptionAlgorithm();
    check(cea.getAlgorithm().equals(new ASN1ObjectIdentifier("1.2.156.10197.1.104.2")), "sm4-cbc");
    byte[] iv = ASN1OctetString.getInstance(cea.getParameters()).getOctets();
    check(iv.length == 16, "16-byte IV");
    byte[] ct = eci.getEncryptedContent().getOctets();
    @SuppressWarnings("deprecation")
    PaddedBufferedBlockCipher sm4 =
        new PaddedBufferedBlockCipher(new CBCBlockCipher(new SM4Engine()), new PKCS7Padding());
    sm4.init(false, new ParametersWithIV(new KeyParameter(cek), iv));
    byte[] buf = new byte[sm4.getOutputSize(ct.length)];
    int n = sm4.processBytes(ct, 0, ct.length, buf, 0);
    n += sm4.doFinal(buf, n);
    ECPrivateKey key = ECPrivateKey.getInstance(Arrays.copyOf(buf, n));
    check(Arrays.equals(pad32(key.getKey()), expectedD), "private key d");
    check(key.getParametersObject().equals(GMObjectIdentifiers.sm2p256v1), "sm2p256v1");
    check(Arrays.equals(key.getPublicKey().getOctets(),
                        curve.getG().multiply(key.getKey()).normalize().getEncoded(false)),
          "embedded public key = d*G");
    System.out.println("{\"ok\":true}");
  }
}
