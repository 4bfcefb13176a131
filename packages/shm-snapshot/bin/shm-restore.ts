#!/usr/bin/env node
import { exitWith } from '@shmkit/kit/cli';

import { main } from '../src/restore/main';

exitWith('shm-restore', main(process.argv.slice(2)));
