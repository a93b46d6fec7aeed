// What node-opcua's certificate manager says of a certificate (DER file)
// against a PKI root: prints the status code's name (Good,
// BadCertificateUntrusted, BadCertificateRevocationUnknown, ...).
"use strict";
const fs = require("fs");
const { OPCUACertificateManager } = require("node-opcua");

async function main() {
    const [root, certFile] = [process.argv[2], process.argv[3]];
    const cm = new OPCUACertificateManager({ automaticallyAcceptUnknownCertificate: false, rootFolder: root });
    await cm.initialize();
    const status = await cm.checkCertificate(fs.readFileSync(certFile));
    console.log("STATUS " + status.name);
    await cm.dispose();
}

main().catch((err) => { console.error(err); process.exit(1); });
