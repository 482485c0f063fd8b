using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
{
    /// <inheritdoc />
    public partial class RolloutsPerWorkloadOfApproval : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Rollouts_ApprovalId_Generation",
                table: "Rollouts");

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_ApprovalId_WorkloadId_Generation",
                table: "Rollouts",
                columns: new[] { "ApprovalId", "WorkloadId", "Generation" },
                unique: true,
                filter: "\"ApprovalId\" IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Rollouts_ApprovalId_WorkloadId_Generation",
                table: "Rollouts");

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_ApprovalId_Generation",
                table: "Rollouts",
                columns: new[] { "ApprovalId", "Generation" },
                unique: true,
                filter: "\"ApprovalId\" IS NOT NULL");
        }
    }
}
