import { filterNotifyMessage, notifyOption } from '../src/notify-relay';

describe('filterNotifyMessage', () => {
  it('keeps what a service says about itself, in order', () => {
    expect(filterNotifyMessage('READY=1\nSTATUS=3 clients\nWATCHDOG=1\n')).toEqual({ relayed: 'READY=1\nSTATUS=3 clients\nWATCHDOG=1', dropped: [] });
    expect(filterNotifyMessage('RELOADING=1\nMONOTONIC_USEC=12\nSTOPPING=1\nERRNO=5\nEXTEND_TIMEOUT_USEC=9').dropped).toEqual([]);
  });

  it('drops what would act on the service or its fd store, and lines without a key', () => {
    expect(filterNotifyMessage('MAINPID=1\nREADY=1\nFDSTORE=1\nFDNAME=x\nNOTIFYACCESS=all\nBARRIER=1\nnonsense\n=1')).toEqual({
      relayed: 'READY=1',
      dropped: ['MAINPID', 'FDSTORE', 'FDNAME', 'NOTIFYACCESS', 'BARRIER', 'nonsense', '=1'],
    });
    expect(filterNotifyMessage('FDSTOREREMOVE=1\nFDNAME=x').relayed).toBe('');
  });

  it('cuts long unknown keys in what it reports', () => {
    expect(filterNotifyMessage(`${'K'.repeat(100)}=1`).dropped).toEqual([`${'K'.repeat(32)}…`]);
  });
});

describe('notifyOption', () => {
  it('defaults to relay and refuses other modes', () => {
    expect(notifyOption(undefined)).toBe('relay');
    expect(notifyOption('pass')).toBe('pass');
    expect(() => notifyOption('all')).toThrow(/--notify: "all" is neither 'relay' nor 'pass'/);
  });
});
