#!/usr/bin/env node
import { exitWith } from '@shmkit/kit/cli';

import { main } from '../src/cli/ipcbuffer';

exitWith('ipcbuffer', main(process.argv.slice(2)));
