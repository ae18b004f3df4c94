import Commands

UQCITCommand.main()
