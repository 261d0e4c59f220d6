namespace CallVault.Acs.Recordings;

/// <summary>What a delete achieved.</summary>
public enum AcsDeleteOutcome
{
    /// <summary>ACS deleted the chunk's media and metadata.</summary>
    Deleted,

    /// <summary>ACS no longer had the chunk (404): deleted before, or past retention.</summary>
    AlreadyGone,
}
