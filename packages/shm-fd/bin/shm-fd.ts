#!/usr/bin/env node
import { exitWith } from '@shmkit/kit/cli';

import { main } from '../src/cli/shm-fd';

exitWith('shm-fd', main(process.argv.slice(2)));
