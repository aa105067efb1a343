const {headers, VERIFIER, ids} = require('./common.cjs');
const BSL = process.env.DIDVC_BSL_URL || 'https://127.0.0.1:18171';  // issuer whose status lists are https (tls_proxy.py)
module.exports = {
  settings: {enableInteropTests: false, testAllImplementations: false},
  implementations: [{
    name: 'didvc',
    implementation: 'didvc (local)',
    issuers: [{id: ids.bsl, endpoint: `${BSL}/credentials/issue`, headers,
      options: {cryptosuite: 'eddsa-rdfc-2022', credentialStatus: [
        {type: 'BitstringStatusListEntry', statusPurpose: 'revocation'},
        {type: 'BitstringStatusListEntry', statusPurpose: 'suspension'},
        {type: 'BitstringStatusListEntry', statusPurpose: 'message',
         statusMessages: ['pending', 'accepted', 'rejected', 'withdrawn']}]},
      tags: ['BitstringStatusList', 'Revocation', 'Suspension']}],
    verifiers: [{id: 'didvc-verifier', endpoint: `${VERIFIER}/credentials/verify`,
      tags: ['BitstringStatusList', 'Revocation', 'Suspension']}],
    vpVerifiers: [{id: 'didvc-verifier', endpoint: `${VERIFIER}/presentations/verify`,
      tags: ['BitstringStatusList']}]
  }]
};
