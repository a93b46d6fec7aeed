// Connect with SignAndEncrypt/Basic256Sha256 using the client PKI folder,
// read the server's time, disconnect. Exit 0: connected; 3: the server
// refused the certificate; 1: anything else.
"use strict";
const {
    OPCUAClient, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy, AttributeIds
} = require("node-opcua");

async function main() {
    const [endpoint, pkiDir] = [process.argv[2], process.argv[3]];
    const clientCertificateManager = new OPCUACertificateManager({
        automaticallyAcceptUnknownCertificate: true,
        rootFolder: pkiDir,
    });
    await clientCertificateManager.initialize();
    const client = OPCUAClient.create({
        applicationName: "pkifs-test-client",
        securityMode: MessageSecurityMode.SignAndEncrypt,
        securityPolicy: SecurityPolicy.Basic256Sha256,
        endpointMustExist: false,
        clientCertificateManager,
        connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
        requestedSessionTimeout: 10000,
    });
    try {
        await client.connect(endpoint);
        const session = await client.createSession();
        await session.read({ nodeId: "i=2258", attributeId: AttributeIds.Value });
        await session.close();
        await client.disconnect();
        process.exit(0);
    } catch (err) {
        console.error(String(err && err.message || err));
        await client.disconnect().catch(() => {});
        process.exit(/certificate|security|BadSecure|socket.*closed|premature/i.test(String(err)) ? 3 : 1);
    }
}

main().catch((err) => { console.error(err); process.exit(1); });
